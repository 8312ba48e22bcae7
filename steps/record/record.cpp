#include "steps/record/record.hpp"

#include <fmt/format.h>

namespace gate::steps {

std::string RecordStep::plan(const RunContext &ctx) const {
  return fmt::format("seal the set and write {}", ctx.config.record.string());
}

util::Result<StepResult> RecordStep::run(RunContext &ctx) {
  if (!ctx.seal_and_record) return failed("nothing to record in this command");
  TRY(ctx.seal_and_record());
  return passed("wrote " + ctx.config.record.string());
}

util::Result<std::unique_ptr<Step>> make_record_step(const config::Node &node,
                                                     const config::PipelineConfig &) {
  TRY_ASSIGN(auto map, config::MapReader::open(node, "a record step", {"record"}));
  TRY_ASSIGN(auto value, map.require("record"));
  TRY_ASSIGN(bool enabled, value.as_bool());
  if (!enabled) return std::unexpected(value.error("record: false is not a step; remove it"));
  TRY(map.finish());
  return std::make_unique<RecordStep>();
}

} // namespace gate::steps
