// The set store in a directory, backup_root: <id>/ for usable sets,
// .partial-<id>/ while one is written, .failed-<id>/ for sets kept for
// forensics, .removing-<id>/ while one is deleted. The commit is the rename
// of .partial-<id> to <id> after an fsync of the tree; nothing that starts
// with a dot is ever listed as usable.
#pragma once

#include "model/set_store.hpp"
#include "util/time.hpp"

namespace gate::model {

class LocalSetStore final : public SetStore {
public:
  explicit LocalSetStore(std::filesystem::path root) : m_root(std::move(root)) {}
  const std::filesystem::path &root() const { return m_root; }

  std::string location() const override { return m_root.string(); }
  util::Result<std::vector<SetInfo>> list(IncludeFailed include_failed) const override;
  util::Result<void> read_file(const std::string &id, const std::string &relative,
                               const std::filesystem::path &dest) const override;
  // A PendingSet (model/backup_set.hpp) named `id`.
  util::Result<std::unique_ptr<SetWriter>> begin(const std::string &id) override;
  util::Result<void> remove(const std::string &id) override;

  // An id "<kind>-YYYYMMDD_HHMMSS" not used by any set, partial or failed one
  // (suffix -2, -3... when the second is taken); with a host tag
  // (model/set_id.hpp) "<kind>-<tag>-YYYYMMDD_HHMMSS". Call under the root's lock.
  std::string reserve_id(const std::string &kind, util::Clock::time_point now,
                         const std::string &host_tag = "") const;
  // True when a set, partial, failed or removing directory has this id.
  bool id_taken(const std::string &id) const;
  // Moves .partial-* directories left by a process that died into
  // .failed-* with a note, and finishes deletes cut short (.removing-*).
  // Call under the root's lock.
  util::Result<std::vector<std::string>> recover_leftovers() const;

  static constexpr const char *k_partial_prefix = ".partial-";
  static constexpr const char *k_failed_prefix = ".failed-";
  static constexpr const char *k_removing_prefix = ".removing-";

private:
  util::Result<void> keep_abandoned(const std::filesystem::path &dir, const std::string &id) const;

  std::filesystem::path m_root;
};

} // namespace gate::model
