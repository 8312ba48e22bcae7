// Retention on a remote (declared in ops/prune.hpp).
#include "model/record.hpp"
#include "model/s3_store.hpp"
#include "model/set_id.hpp"
#include "ops/prune.hpp"
#include "util/cancel.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/s3_client.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

namespace gate::ops {

namespace {

// Incomplete sets and multipart uploads younger than this may still be written by a live gate.
constexpr auto k_stale_after = std::chrono::hours(24);

// S3's times: "2026-12-01T16:15:26.000Z" (the fraction is dropped).
std::optional<util::Clock::time_point> parse_s3_time(std::string text) {
  if (auto dot = text.find('.'); dot != std::string::npos) {
    auto z = text.find('Z', dot);
    text.erase(dot, z == std::string::npos ? std::string::npos : z - dot);
  }
  if (!text.empty() && text.back() != 'Z') text.push_back('Z');
  return util::parse_iso8601_utc(text);
}

// What the prefix holds, by set id (the first path segment under it).
struct PrefixObjects {
  std::map<std::string, std::vector<std::string>> keys;
  std::map<std::string, util::Clock::time_point> newest;
  std::set<std::string> committed; // ids with a manifest.json
};

util::Result<PrefixObjects> scan_prefix(model::S3SetStore &store) {
  std::string root = store.root_key();
  auto objects = store.client().list_objects(root);
  if (!objects) return util::fail(objects.error().message);
  PrefixObjects out;
  for (const auto &o : *objects) {
    size_t slash = o.key.find('/', root.size());
    if (slash == std::string::npos || slash == root.size()) continue; // not inside a set
    std::string id = o.key.substr(root.size(), slash - root.size());
    out.keys[id].push_back(o.key);
    auto when = parse_s3_time(o.last_modified).value_or(util::Clock::now());
    if (!out.newest.count(id) || when > out.newest[id]) out.newest[id] = when;
    if (o.key == store.key(id, "manifest.json")) out.committed.insert(id);
  }
  return out;
}

bool access_denied(const util::S3Error &e) {
  return e.code == "AccessDenied" || e.http_status == 403;
}

// Deletes `keys`; "denied" when the key may not delete, an error for anything else.
util::Result<bool> delete_keys(model::S3SetStore &store, const std::vector<std::string> &keys) {
  auto deleted = store.client().delete_objects(keys);
  if (!deleted && access_denied(deleted.error())) return false;
  if (!deleted) return util::fail(deleted.error().message);
  for (const auto &e : deleted->errors)
    if (e.code == "AccessDenied") return false;
  if (!deleted->errors.empty())
    return util::fail(fmt::format("{}: unable to delete '{}': {} {}", store.location(),
                                  deleted->errors[0].key, deleted->errors[0].code,
                                  deleted->errors[0].message));
  return true;
}

// One set's objects, manifest.json first: from then on it is not listed.
util::Result<bool> delete_set(model::S3SetStore &store, const std::string &id,
                              const std::vector<std::string> &keys) {
  std::string manifest = store.key(id, "manifest.json");
  std::vector<std::string> rest;
  for (const auto &k : keys)
    if (k != manifest) rest.push_back(k);
  if (std::find(keys.begin(), keys.end(), manifest) != keys.end()) {
    TRY_ASSIGN(bool allowed, delete_keys(store, {manifest}));
    if (!allowed) return false;
  }
  util::fault_point("prune.remote-mid-set");
  if (rest.empty()) return true;
  return delete_keys(store, rest);
}

std::string denied_warning(const model::S3SetStore &store) {
  return store.location() +
         ": AccessDenied on delete: this key may not delete (a backup-only key?); retention on "
         "the remote skipped, nothing was removed there\nhint: run `gate prune --remote` with a "
         "key that may s3:DeleteObject (docs/remotes.md)";
}

const config::Retention *policy_for(const config::PipelineConfig &config,
                                    const config::RemoteConfig &remote) {
  if (remote.retention) return &*remote.retention;
  return config.retention ? &*config.retention : nullptr;
}

// The sets the policy considers: this project's, environment's and host's.
util::Result<std::vector<model::SetInfo>> our_sets(const config::PipelineConfig &config,
                                                   const model::S3SetStore &store) {
  TRY_ASSIGN(auto all, store.list(model::IncludeFailed::yes));
  std::vector<model::SetInfo> ours;
  const std::string host = util::host_name();
  for (auto &s : all)
    if (s.manifest && s.manifest->project == config.project &&
        s.manifest->environment == config.environment && s.manifest->host == host)
      ours.push_back(std::move(s));
  return ours;
}

// One remote prune in progress: what it decided and what it did.
struct RemotePrune {
  model::S3SetStore &store;
  PruneMode mode;
  Reporter &reporter;
  PruneResult result;
  bool denied = false;

  // Removes set `id` (or says it would); false once a delete was denied.
  util::Result<void> remove(const std::string &id, const std::vector<std::string> &keys,
                            const std::string &what) {
    if (denied) return {};
    if (mode == PruneMode::dry_run) {
      reporter.plan_line(fmt::format("would remove {} {} from {}", what, id, store.location()));
      return {};
    }
    if (util::cancel_requested())
      return util::fail(util::ErrorKind::interrupted,
                        "interrupted: retention stopped before removing " + id);
    TRY_ASSIGN(bool allowed, delete_set(store, id, keys));
    if (!allowed) return deny();
    util::log_info("retention: removed {} '{}' from {}", what, id, store.location());
    reporter.event("pruned", fmt::format("removed {} {} from {}", what, id, store.location()));
    return {};
  }

  util::Result<void> deny() {
    denied = true;
    result.warning = denied_warning(store);
    util::log_warn("{}", result.warning);
    return {};
  }

  // This host's multipart uploads under the prefix that nobody finished
  // within a day: another host's are its own gate's to sweep (its clock, its
  // uploads), as with incomplete sets.
  util::Result<void> abort_stale_uploads(util::Clock::time_point now) {
    auto uploads = store.client().list_multipart_uploads(store.root_key());
    if (!uploads) return util::fail(uploads.error().message);
    const std::string root = store.root_key(), tag = model::host_tag(util::host_name());
    for (const auto &u : *uploads) {
      auto started = parse_s3_time(u.initiated);
      if (denied || !started || now - *started < k_stale_after) continue;
      size_t slash = u.key.find('/', root.size());
      if (slash == std::string::npos ||
          !model::id_has_host_tag(u.key.substr(root.size(), slash - root.size()), tag))
        continue;
      result.aborted.push_back(u.key);
      if (mode == PruneMode::dry_run) {
        reporter.plan_line(fmt::format("would abort the unfinished upload of {} (started {})",
                                       u.key, u.initiated));
        continue;
      }
      auto aborted = store.client().abort_multipart_upload(u.key, u.upload_id);
      if (!aborted && access_denied(aborted.error())) return deny();
      if (!aborted && aborted.error().code != "NoSuchUpload")
        return util::fail(aborted.error().message);
      util::log_info("retention: aborted the unfinished upload of {}", u.key);
    }
    return {};
  }

  // This host's sets without manifest.json, untouched for a day: uploads cut short.
  util::Result<void> remove_incomplete(const PrefixObjects &objects, util::Clock::time_point now) {
    const std::string tag = model::host_tag(util::host_name());
    for (const auto &[id, keys] : objects.keys) {
      if (objects.committed.count(id) || !model::id_has_host_tag(id, tag)) continue;
      if (now - objects.newest.at(id) < k_stale_after) continue;
      result.incomplete.push_back(id);
      TRY(remove(id, keys, "incomplete set"));
    }
    return {};
  }
};

} // namespace

util::Result<PruneResult> prune_remote(const config::PipelineConfig &config,
                                       const std::string &remote_name, PruneMode mode,
                                       Reporter &reporter) {
  const auto *remote = config.find_remote(remote_name);
  if (!remote) return util::fail(util::ErrorKind::usage, "no remote '" + remote_name + "'");
  const auto *policy = policy_for(config, *remote);
  if (!policy)
    return util::fail(util::ErrorKind::config,
                      "no retention policy for remote '" + remote_name + "' in " +
                          config.file.string() +
                          "\nhint: add retention: {keep_last: 3, keep_daily: 7} (for this remote "
                          "alone: under the remote)");
  TRY_ASSIGN(auto store, model::S3SetStore::open(*remote));
  TRY_ASSIGN(auto ours, our_sets(config, *store));
  TRY_ASSIGN(auto objects, scan_prefix(*store));
  TRY_ASSIGN(auto record_id, model::read_record_id(config.record));
  auto now = util::Clock::now();
  RemotePrune prune{*store, mode, reporter, select_for_pruning(ours, record_id, *policy, now)};
  TRY(refuse_removing_every_set(ours, prune.result, store->location()));
  TRY(prune.abort_stale_uploads(now));
  TRY(prune.remove_incomplete(objects, now));
  for (const auto &id : prune.result.removed)
    TRY(prune.remove(id, objects.keys[id], "set"));
  return prune.result;
}

void prune_remotes_after_run(const config::PipelineConfig &config, Reporter &reporter) {
  for (const auto &remote : config.remotes) {
    if (!policy_for(config, remote)) continue;
    if (auto pruned = prune_remote(config, remote.name, PruneMode::apply, reporter); !pruned)
      util::log_warn("retention on remote '{}': {}", remote.name, pruned.error().message);
  }
}

} // namespace gate::ops
