// Where backup sets are kept: the contract every set store meets. The local
// directory (model/local_store.hpp) is one implementation; object storage is
// another. Callers (run, verify, rollback, prune, list, fetch) use only this
// interface, so a set is listed, read, written and deleted the same way
// wherever it lives.
//
// The one promise all of them keep: a set is listed as usable only after its
// commit succeeded, and a failed or interrupted write or delete never leaves
// something that is listed as usable but is not whole.
#pragma once

#include "model/manifest.hpp"
#include "util/expected.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gate::model {

struct SetInfo {
  std::string id;
  std::filesystem::path dir;        // the set's directory; empty where sets are not directories
  bool failed = false;              // kept for forensics, not usable
  std::optional<Manifest> manifest; // absent when manifest.json is unreadable
  std::string problem;              // why the manifest could not be read
};

enum class IncludeFailed { no, yes };

// A set being written. Nothing of it is listed until commit() returned.
class SetWriter {
public:
  virtual ~SetWriter() = default;
  virtual std::string id() const = 0;
  // Streams the local file `source` into the set as `relative` ('/'-separated,
  // no "..") with flat memory. Fails naming the file and the store.
  virtual util::Result<void> put_file(const std::string &relative,
                                      const std::filesystem::path &source) = 0;
  // The commit: writes `manifest` (and the checksums and RESTORE.md derived
  // from it) so that list() shows the set from now on. A directory renames
  // its partial tree into place; object storage writes manifest.json last,
  // after every file it names. Fails, publishing nothing, when an artifact of
  // `manifest` did not pass verification.
  virtual util::Result<void> commit(const Manifest &manifest) = 0;
  // Gives the set up with `reason`: kept as failed for forensics where the
  // store can (a directory), removed where it cannot. Never throws.
  virtual void abandon(const std::string &reason) = 0;
};

class SetStore {
public:
  virtual ~SetStore() = default;
  // Where the store is, for messages: a path, or "remote 'NAME' (s3://...)".
  virtual std::string location() const = 0;
  // Committed sets (and failed ones when asked), newest first by created_at
  // then id. A set whose manifest cannot be read is listed with `problem`.
  virtual util::Result<std::vector<SetInfo>> list(IncludeFailed include_failed) const = 0;
  // One set by id, usable or failed; the error names the store and hints at
  // the newest usable set.
  virtual util::Result<SetInfo> find(const std::string &id) const;
  // Streams the file `relative` of set `id` into the local file `dest`
  // (created or replaced) with flat memory.
  virtual util::Result<void> read_file(const std::string &id, const std::string &relative,
                                       const std::filesystem::path &dest) const = 0;
  // Starts writing a set with this id; fails when the id is taken.
  virtual util::Result<std::unique_ptr<SetWriter>> begin(const std::string &id) = 0;
  // Deletes a set (usable or failed). The set stops being listed first, so a
  // delete cut short never leaves a half-deleted set that is listed usable.
  virtual util::Result<void> remove(const std::string &id) = 0;
};

} // namespace gate::model
