// Verification of database artifacts. quick: sizes and checksums. full: every
// byte read back — pg_restore -f /dev/null for custom and directory dumps
// (pg_restore --list alone misses truncation), full decompression of sql and
// csv files with their end markers and CSV record counts checked against the
// snapshot's row counts. deep: a real restore into a scratch database
// compared table by table with the manifest, always dropped afterwards.
#pragma once

#include "steps/postgres/tools.hpp"
#include "steps/step.hpp"
#include "steps/verify/findings.hpp"
#include "util/growth.hpp"
#include "util/tar.hpp"

#include <optional>

namespace gate::steps {

util::Result<Finding> verify_database(const model::Artifact &artifact,
                                      const std::filesystem::path &set_dir,
                                      model::VerifyLevel level, const RunContext &ctx,
                                      const util::ProgressFn &progress);

// The standby build of a `standby: true` database after its dump verified,
// during a run whose pipeline has no deep verify for it (a deep verify keeps
// its own restore): the same restore as deep verify, kept closed. Null when
// there is nothing to build (not a standby, already built, not the dump a
// rollback restores first); a Finding whose metrics hold "standby" (the
// record, or {"refused": why}) and "restore_ms" otherwise.
util::Result<std::optional<Finding>> build_database_standby(const model::Artifact &artifact,
                                                            const std::filesystem::path &set_dir,
                                                            model::VerifyLevel level,
                                                            const RunContext &ctx,
                                                            const util::ProgressFn &progress);

struct CustomReadBack {
  Finding finding;    // pg_restore read every block (or why not)
  std::string sha256; // of the file as read
};

// Reads a custom dump back through `pg_restore -f /dev/null`, hashing the
// file; with `follow`, while pg_dump is still writing it.
util::Result<CustomReadBack> read_back_custom(const std::filesystem::path &path,
                                              const PgTools &tools,
                                              const util::ProgressFn &progress,
                                              util::GrowthSignal *follow);

// The dump's table of contents holds data for every table in the manifest.
// Reads only the head of the file: callers check its checksum themselves.
util::Result<Finding> check_custom_toc(const model::Artifact &artifact,
                                       const std::filesystem::path &set_dir, const PgTools &tools);

// The name of the scratch database for a set id: gate_verify_<id>.
std::string scratch_database_name(const std::string &set_id);

// Counts CSV records (newlines outside quoted fields) incrementally.
class CsvRecordCounter {
public:
  void feed(const char *data, size_t size);
  // Records seen, counting a final record without a trailing newline.
  uint64_t records() const { return m_records + (m_pending ? 1 : 0); }

private:
  bool m_in_quotes = false;
  bool m_pending = false;
  uint64_t m_records = 0;
};

} // namespace gate::steps
