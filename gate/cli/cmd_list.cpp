// gate list [--all] [--json]
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "model/backup_set.hpp"
#include "model/record.hpp"
#include "model/s3_store.hpp"
#include "ops/offsite.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

#include <fmt/format.h>

namespace gate::cli {

void list_options(CLI::App &sub, Args &args) {
  sub.add_flag("--all", args.all, "include failed sets (kept for forensics)");
  sub.add_option("--remote", args.remote,
                 "list the sets on this remote (remotes: in pipeline.yml)");
}

namespace {
std::string age(const std::string &created) {
  auto t = util::parse_iso8601_utc(created);
  if (!t) return "?";
  long long s = std::chrono::duration_cast<std::chrono::seconds>(util::Clock::now() - *t).count();
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  if (s < 172800) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

std::string short_commit(const nlohmann::json &git) {
  if (!git.is_object() || !git.value("commit", nlohmann::json()).is_string()) return "-";
  std::string c = git["commit"].get<std::string>().substr(0, 10);
  if (git.value("dirty", false)) c += "+";
  return c;
}
// With --remote: the last `gate verify --remote` of each set there
// (its verifications.json), by set id.
std::map<std::string, nlohmann::json>
last_remote_verifications(const model::SetStore &store, const std::vector<model::SetInfo> &sets) {
  std::map<std::string, nlohmann::json> out;
  const auto *remote = dynamic_cast<const model::S3SetStore *>(&store);
  if (!remote) return out;
  for (const auto &s : sets)
    if (auto v = remote->verifications(s.id); v && !v->empty()) out[s.id] = v->back();
  return out;
}

std::string remote_verification_note(const nlohmann::json &v) {
  return fmt::format("; verified there {} ago ({}{})", age(v.value("at", "")),
                     v.value("level", "?"), v.value("ok", false) ? "" : ", FAILED");
}
} // namespace

int list_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  auto store = ops::open_set_store(*config, args.remote);
  if (!store) return report_error(console, store.error());
  auto sets = (*store)->list(args.all ? model::IncludeFailed::yes : model::IncludeFailed::no);
  if (!sets) return report_error(console, sets.error());
  auto record = model::read_record_id(config->record);
  std::string recorded = record && *record ? **record : "";
  auto remote_checks = last_remote_verifications(**store, *sets);
  if (args.output.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto &s : *sets) {
      nlohmann::json j{{"id", s.id},
                       {"path", s.dir.string()},
                       {"failed", s.failed},
                       {"recorded", s.id == recorded}};
      if (s.manifest) {
        auto level = s.manifest->verified_level();
        j["created_at"] = s.manifest->created_at;
        j["kind"] = s.manifest->kind;
        j["bytes"] = s.manifest->total_bytes();
        j["verified"] = level ? nlohmann::json(model::to_string(*level)) : nlohmann::json(nullptr);
        j["git"] = s.manifest->git;
        j["encrypted_to"] = s.manifest->encrypted_to(); // empty: plaintext
        if (!s.manifest->failure.empty()) j["failure"] = s.manifest->failure;
      } else {
        j["problem"] = s.problem;
      }
      if (!args.remote.empty())
        j["remote_verified"] =
            remote_checks.count(s.id) ? remote_checks[s.id] : nlohmann::json(nullptr);
      out.push_back(j);
    }
    console.json(out);
    return 0;
  }
  if (sets->empty()) {
    console.print(fmt::format("no backup sets in {}", (*store)->location()));
    return 0;
  }
  console.print(fmt::format("{:<40} {:>5} {:>10} {:<9} {:<12} {}", "ID", "AGE", "SIZE", "VERIFIED",
                            "GIT", "NOTE"));
  for (const auto &s : *sets) {
    std::string id = s.id + (s.id == recorded ? " *" : "");
    if (!s.manifest) {
      console.print(fmt::format("{:<40} {:>5} {:>10} {:<9} {:<12} {}", id, "?", "?", "-", "-",
                                console.red("unreadable: " + s.problem)));
      continue;
    }
    const auto &m = *s.manifest;
    auto level = m.verified_level();
    std::string verified = s.failed ? "FAILED" : level ? model::to_string(*level) : "no";
    std::string note =
        s.failed ? m.failure.substr(0, 80) : (s.id == recorded ? "recorded" : m.kind);
    if (remote_checks.count(s.id)) note += remote_verification_note(remote_checks[s.id]);
    console.print(fmt::format("{:<40} {:>5} {:>10} {:<9} {:<12} {}", id, age(m.created_at),
                              util::human_bytes(m.total_bytes()), verified, short_commit(m.git),
                              note));
  }
  if (args.all && args.remote.empty()) show_replaced_copies(console, *config);
  return 0;
}

} // namespace gate::cli
