#include "ops/offsite.hpp"

#include "model/local_store.hpp"
#include "model/s3_store.hpp"
#include "model/version.hpp"
#include "ops/offsite_encryption.hpp"
#include "steps/alerts/alert.hpp"
#include "util/bounded_parallel.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/s3_client.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <semaphore>

namespace gate::ops {

namespace {

// What one remote copy sends: the artifact files, then the set's log.
struct Upload {
  std::string relative;
  std::filesystem::path source;
  uint64_t bytes = 0;
};

// What every remote's transfers share: at most k_upload_connections requests
// in flight in all, however many remotes are written at once.
class TransferBudget {
public:
  // One transfer's share, given back when it goes out of scope.
  class Permit {
  public:
    explicit Permit(TransferBudget &b) : m_budget(b) { m_budget.m_slots.acquire(); }
    ~Permit() { m_budget.m_slots.release(); }
    Permit(const Permit &) = delete;
    Permit &operator=(const Permit &) = delete;

  private:
    TransferBudget &m_budget;
  };

private:
  std::counting_semaphore<> m_slots{static_cast<std::ptrdiff_t>(model::k_upload_connections)};
};

std::vector<Upload> uploads_of(const model::Manifest &manifest,
                               const std::filesystem::path &set_dir) {
  std::vector<Upload> out;
  for (const auto &a : manifest.artifacts)
    for (const auto &f : a.files)
      out.push_back({f.path, set_dir / f.path, f.bytes});
  std::error_code ec;
  if (std::filesystem::exists(set_dir / "gate.log", ec))
    out.push_back({"gate.log", set_dir / "gate.log",
                   static_cast<uint64_t>(std::filesystem::file_size(set_dir / "gate.log", ec))});
  return out;
}

// A set with this id already on the remote is this very set (a rerun after
// the record failed) only when it came from this host, project and
// environment with the same files; anything else is another gate's set.
util::Result<bool> already_there(const model::S3SetStore &store, const model::Manifest &ours) {
  auto existing = store.find(ours.id);
  if (!existing || existing->failed || !existing->manifest) return false;
  const auto &theirs = *existing->manifest;
  bool same = theirs.host == ours.host && theirs.project == ours.project &&
              theirs.environment == ours.environment;
  for (const auto &a : ours.artifacts) {
    const auto *other = theirs.find_artifact(a.path);
    same = same && other && other->files.size() == a.files.size();
    for (size_t i = 0; same && i < a.files.size(); ++i)
      same = other->files[i].sha256 == a.files[i].sha256;
  }
  if (same) return true;
  return util::fail(fmt::format("{} already holds a set '{}' written by host '{}' ({}/{}); "
                                "it is not this set and is left alone",
                                store.location(), ours.id, theirs.host, theirs.project,
                                theirs.environment));
}

// One remote: the set uploaded file by file (progress as the bytes go, a line
// per object), each object confirmed by HEAD, then committed; every request
// within `budget`, shared with the other remotes written meanwhile.
util::Result<void> copy_to(const config::RemoteConfig &remote, const model::Manifest &manifest,
                           const std::filesystem::path &set_dir, Reporter &reporter,
                           const std::string &label, TransferBudget &budget) {
  auto files = uploads_of(manifest, set_dir);
  uint64_t total = 0;
  for (const auto &u : files)
    total += u.bytes;
  std::atomic<uint64_t> sent{0};
  TRY_ASSIGN(auto store, model::S3SetStore::open(remote, [&](uint64_t n) {
               reporter.step_progress(label, sent += n, total);
             }));
  std::unique_ptr<model::SetWriter> writer;
  {
    TransferBudget::Permit permit(budget);
    TRY_ASSIGN(bool there, already_there(*store, manifest));
    if (there) return {};
    TRY_ASSIGN(writer, store->begin(manifest.id));
  }
  // Side by side on the store's upload connections; the biggest first, so
  // that a large dump does not start last and run alone.
  std::stable_sort(files.begin(), files.end(),
                   [](const Upload &a, const Upload &b) { return a.bytes > b.bytes; });
  std::atomic<size_t> uploaded{0};
  auto put_all = util::for_each_bounded(
      files.size(), model::k_upload_connections, [&](size_t i, size_t) -> util::Result<void> {
        TransferBudget::Permit permit(budget);
        TRY(writer->put_file(files[i].relative, files[i].source));
        reporter.event("object_uploaded",
                       fmt::format("{}: {} ({}) uploaded, {}/{}", remote.name, files[i].relative,
                                   util::human_bytes(files[i].bytes), ++uploaded, files.size()));
        return {};
      });
  TransferBudget::Permit permit(budget);
  if (!put_all) {
    writer->abandon(put_all.error().message);
    return put_all;
  }
  if (auto committed = writer->commit(manifest); !committed) {
    writer->abandon(committed.error().message);
    return committed;
  }
  return {};
}

// An optional remote that did not take the copy: every alert that fires on
// failures hears of it, naming the remote, although the run goes on.
void alert_optional_failure(const config::PipelineConfig &config,
                            const config::RemoteConfig &remote, const std::string &set_id,
                            const std::string &message) {
  nlohmann::json p{{"project", config.project},
                   {"environment", config.environment},
                   {"command", "run"},
                   {"event", "offsite_failed"},
                   {"ok", false},
                   {"verdict", "WARNING: " + message + "; the local set is recorded"},
                   {"remote", {{"name", remote.name}, {"url", remote.url}}},
                   {"set", {{"id", set_id}}},
                   {"host", util::host_name()},
                   {"gate_version", model::k_gate_version},
                   {"timestamp", util::iso8601_utc(util::Clock::now())}};
  for (const auto &alert : config.alerts)
    if (std::find(alert.on.begin(), alert.on.end(), config::AlertEvent::failure) != alert.on.end())
      steps::deliver_alert(alert, p);
}

// One remote's copy as a step of the run: started, finished with its summary.
util::Result<void> copy_reported(const config::RemoteConfig &remote,
                                 const model::Manifest &manifest, const OutgoingSet &outgoing,
                                 Reporter &reporter, TransferBudget &budget) {
  auto start = std::chrono::steady_clock::now();
  std::string label = "copy to " + remote.name;
  reporter.step_started("off-site", label);
  auto copied = copy_to(remote, outgoing.manifest(), outgoing.dir(), reporter, label, budget);
  StepReport report{"off-site", label};
  report.duration_ms = util::elapsed_ms(start);
  report.ok = copied.has_value();
  report.bytes = copied ? manifest.total_bytes() : 0;
  report.summary = copied ? fmt::format("set {} copied to {} and confirmed ({})", manifest.id,
                                        util::s3_uri(remote.bucket, remote.prefix),
                                        util::human_bytes(manifest.total_bytes()))
                          : copied.error().message;
  reporter.step_finished(report);
  return copied;
}

} // namespace

util::Result<std::unique_ptr<model::SetStore>> open_set_store(const config::PipelineConfig &config,
                                                              const std::string &remote) {
  if (remote.empty()) return std::make_unique<model::LocalSetStore>(config.backup_root);
  const auto *r = config.find_remote(remote);
  if (!r) {
    std::vector<std::string> names;
    for (const auto &x : config.remotes)
      names.push_back(x.name);
    return util::fail(util::ErrorKind::usage,
                      "--remote " + remote + ": no remote of that name in " + config.file.string() +
                          (names.empty() ? " (it has no remotes:)"
                                         : " (remotes: " + util::join(names, ", ") + ")"));
  }
  TRY_ASSIGN(auto store, model::S3SetStore::open(*r));
  return std::unique_ptr<model::SetStore>(std::move(store));
}

std::string remote_set_url(const config::RemoteConfig &remote, const std::string &id) {
  return util::s3_uri(remote.bucket, config::remote_key(remote, id + "/"));
}

util::Result<std::vector<model::RemoteCopy>> copy_off_site(const config::PipelineConfig &config,
                                                           const model::Manifest &manifest,
                                                           const std::filesystem::path &set_dir,
                                                           Reporter &reporter) {
  std::vector<model::RemoteCopy> confirmed;
  if (config.remotes.empty()) return confirmed;
  // Encrypted once for every remote when encryption: is configured.
  TRY_ASSIGN(auto outgoing, OutgoingSet::prepare(config, manifest, set_dir));
  // Every remote at once, their transfers within one budget; each piece
  // succeeds so that a failed remote does not keep another from starting.
  const auto &remotes = config.remotes;
  std::vector<util::Result<void>> copied(remotes.size());
  TransferBudget budget;
  TRY(util::for_each_bounded(
      remotes.size(), remotes.size(), [&](size_t i, size_t) -> util::Result<void> {
        copied[i] = copy_reported(remotes[i], manifest, *outgoing, reporter, budget);
        return {};
      }));
  std::optional<util::Error> required_failure;
  for (size_t i = 0; i < remotes.size(); ++i) {
    if (copied[i]) {
      confirmed.push_back({remotes[i].name, remote_set_url(remotes[i], manifest.id),
                           remotes[i].endpoint, util::iso8601_utc(util::Clock::now())});
      continue;
    }
    std::string message = fmt::format("the off-site copy of set {} to remote '{}' failed: {}",
                                      manifest.id, remotes[i].name, copied[i].error().message);
    if (remotes[i].required) {
      if (!required_failure) required_failure = util::Error{copied[i].error().kind, message};
      continue;
    }
    util::log_warn("{} (required: false: the local set stands)", message);
    alert_optional_failure(config, remotes[i], manifest.id, message);
  }
  if (required_failure) return std::unexpected(*required_failure);
  if (!confirmed.empty()) note_copies_in_manifest(set_dir, confirmed);
  return confirmed;
}

void note_copies_in_manifest(const std::filesystem::path &set_dir,
                             const std::vector<model::RemoteCopy> &copies) {
  auto m = model::load_manifest(set_dir);
  if (!m) return util::log_warn("unable to note the off-site copies: {}", m.error().message);
  m->extra["remotes"] = model::remote_copies_json(copies);
  if (auto saved = model::save_manifest(set_dir, *m); !saved)
    util::log_warn("unable to note the off-site copies: {}", saved.error().message);
}

} // namespace gate::ops
