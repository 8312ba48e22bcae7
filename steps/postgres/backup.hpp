// `backup: NAME` for a database: every configured format dumped from one
// exported snapshot (pg_dump --snapshot), streamed through gate (hashed,
// counted, compressed) into the set, with the snapshot's table list and exact
// row counts in the manifest.
#pragma once

#include "steps/step.hpp"

namespace gate::steps {

class PostgresBackupStep : public Step {
public:
  explicit PostgresBackupStep(const config::DatabaseTarget &target,
                              ReadBack read_back = ReadBack::later)
      : m_target(target), m_read_back(read_back) {}
  std::string label() const override { return "backup " + m_target.name; }
  StepCategory category() const override { return StepCategory::backup; }
  util::Result<void> check(const RunContext &ctx) const override;
  util::Result<StepResult> run(RunContext &ctx) override;
  std::string plan(const RunContext &ctx) const override;
  std::vector<std::string> targets() const override { return {m_target.name}; }

private:
  const config::DatabaseTarget &m_target;
  ReadBack m_read_back;
};

// Fails when the dump or a table shrank more than the target's max_shrink
// against the newest of `baselines` (newest first) that holds the same target
// in the same format. Returns the reason, empty when fine.
std::string shrink_violation(const config::DatabaseTarget &target, const model::Artifact &artifact,
                             const std::vector<model::Manifest> &baselines);

} // namespace gate::steps
