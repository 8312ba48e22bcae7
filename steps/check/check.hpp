// `check: connections | disk_space | sql`: pre-flight checks that change
// nothing. connections reaches every database (and picks its pg_dump) and
// every volume; disk_space wants space_factor x (database sizes + volume
// sizes) free on backup_root; sql compares a query's single value.
#pragma once

#include "steps/step.hpp"

namespace gate::steps {

enum class CheckKind { connections, disk_space, sql };

class CheckStep : public Step {
public:
  CheckStep(CheckKind kind, std::string database, std::string query, std::string expect)
      : m_kind(kind), m_database(std::move(database)), m_query(std::move(query)),
        m_expect(std::move(expect)) {}
  std::string label() const override;
  StepCategory category() const override { return StepCategory::check; }
  util::Result<void> check(const RunContext &ctx) const override { return {}; }
  util::Result<StepResult> run(RunContext &ctx) override;
  std::string plan(const RunContext &ctx) const override;
  CheckKind kind() const { return m_kind; }

private:
  CheckKind m_kind;
  std::string m_database, m_query, m_expect;
};

util::Result<std::unique_ptr<Step>> make_check_step(const config::Node &node,
                                                    const config::PipelineConfig &config);

// Bytes the backup will read: database sizes plus volume trees.
util::Result<uint64_t> estimate_source_bytes(const config::PipelineConfig &config);

} // namespace gate::steps
