// `backup: NAME` for a volume: the directory (or a named volume's mountpoint)
// archived as pax tar, compressed, hashed and counted while written.
#pragma once

#include "steps/step.hpp"
#include "util/compressed_file.hpp"

namespace gate::steps {

class VolumeBackupStep : public Step {
public:
  explicit VolumeBackupStep(const config::VolumeTarget &target,
                            ReadBack read_back = ReadBack::later)
      : m_target(target), m_read_back(read_back) {}
  std::string label() const override { return "backup " + m_target.name; }
  StepCategory category() const override { return StepCategory::backup; }
  util::Result<void> check(const RunContext &ctx) const override;
  util::Result<StepResult> run(RunContext &ctx) override;
  std::string plan(const RunContext &ctx) const override;
  std::vector<std::string> targets() const override { return {m_target.name}; }

private:
  const config::VolumeTarget &m_target;
  ReadBack m_read_back;
};

// The archive's file name inside a set: "volumes/NAME.tar.zst".
std::string volume_archive_path(const config::VolumeTarget &target);

// Compression settings of a volume as a util codec.
util::CodecOptions volume_codec(const config::VolumeTarget &target);

} // namespace gate::steps
