// gate show [ID|--last] [--json|--env]
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "model/backup_set.hpp"
#include "model/record.hpp"
#include "model/restore_doc.hpp"
#include "model/set_encryption.hpp"
#include "ops/rollback.hpp"
#include "steps/restore_plan.hpp"
#include "util/text.hpp"

#include <fmt/format.h>
#include <set>

namespace gate::cli {

void show_options(CLI::App &sub, Args &args) {
  sub.add_option("id", args.id, "the set to show (default: --last)");
  sub.add_flag("--last", args.last,
               "the set .last-deployment-backup names (else the newest usable set)");
  sub.add_flag("--env", args.env, "shell variables (GATE_BACKUP_ID=...) for scripts");
}

namespace {

using util::shell_quote;

void show_database(Console &console, const model::Artifact &a) {
  const auto &d = a.details;
  console.print(fmt::format("    server PostgreSQL {}, database {} ({}), source {}",
                            d.value("server_version", "?"), d.value("database", "?"),
                            util::human_bytes(d.value("database_size", uint64_t{0})),
                            d.value("source", "?")));
  std::string exts;
  for (const auto &e : d.value("extensions", nlohmann::json::array()))
    exts += (exts.empty() ? "" : ", ") + e.value("name", "") + " " + e.value("version", "");
  if (!exts.empty()) console.print("    extensions: " + exts);
  auto tables = d.value("tables", nlohmann::json::array());
  console.print(fmt::format("    {} tables (rows, size):", tables.size()));
  size_t shown = 0;
  for (const auto &t : tables) {
    if (++shown > 25) {
      console.print(fmt::format("      ... and {} more (gate show --json)", tables.size() - 25));
      break;
    }
    console.print(fmt::format("      {}.{}: {} rows, {}", t.value("schema", ""),
                              t.value("name", ""), t.value("rows", int64_t{0}),
                              util::human_bytes(t.value("bytes", uint64_t{0}))));
  }
}

std::string verified_text(const model::SetInfo &info, const char *failed) {
  auto level = info.manifest->verified_level();
  return info.failed ? failed : level ? model::to_string(*level) : "no";
}

// --env: shell assignments a deploy script can eval.
void show_env(Console &console, const model::SetInfo &info) {
  const auto &m = *info.manifest;
  auto git_field = [&](const char *k) {
    return m.git.is_object() && m.git.value(k, nlohmann::json()).is_string()
               ? m.git[k].get<std::string>()
               : "";
  };
  console.print("GATE_BACKUP_ID=" + shell_quote(m.id));
  console.print("GATE_BACKUP_PATH=" + shell_quote(info.dir.string()));
  console.print("GATE_BACKUP_CREATED_AT=" + shell_quote(m.created_at));
  console.print("GATE_BACKUP_BYTES=" + std::to_string(m.total_bytes()));
  console.print("GATE_BACKUP_VERIFIED=" + shell_quote(verified_text(info, "failed")));
  console.print("GATE_GIT_COMMIT=" + shell_quote(git_field("commit")));
  console.print("GATE_GIT_BRANCH=" + shell_quote(git_field("branch")));
}

// The set's identity: where it is, when and from what it was made, its size.
void show_summary(Console &console, const model::SetInfo &info) {
  const auto &m = *info.manifest;
  console.print(console.bold("set " + m.id) +
                (info.failed ? console.red("  FAILED: " + m.failure) : ""));
  console.print(fmt::format("  path        {}", info.dir.string()));
  console.print(
      fmt::format("  created     {} by gate {} on {}", m.created_at, m.gate_version, m.host));
  if (!m.project.empty() || !m.environment.empty())
    console.print(fmt::format("  project     {} ({})", m.project, m.environment));
  if (m.git.is_object())
    console.print(fmt::format(
        "  git         {} on {}{}",
        m.git.value("commit", nlohmann::json()).is_string() ? m.git["commit"].get<std::string>()
                                                            : "-",
        m.git.value("branch", nlohmann::json()).is_string() ? m.git["branch"].get<std::string>()
                                                            : "-",
        m.git.value("dirty", false) ? " (uncommitted changes)" : ""));
  else
    console.print("  git         none (not a git working copy)");
  console.print(fmt::format("  size        {}", util::human_bytes(m.total_bytes())));
  console.print(fmt::format("  verified    {}", verified_text(info, "FAILED")));
  if (auto to = m.encrypted_to(); !to.empty())
    console.print(fmt::format("  encrypted   age, to {}", util::join(to, ", ")));
}

// The standby built from this artifact (steps/postgres/standby.hpp), or why none was.
void show_standby(Console &console, const nlohmann::json &s) {
  if (s.contains("refused")) {
    console.print("    standby refused: " + s.value("refused", ""));
    return;
  }
  console.print(fmt::format("    standby {} (oid {}), {}, {} tables and {} rows verified, built in "
                            "{}, closed {}",
                            s.value("name", ""), s.value("oid", ""),
                            util::human_bytes(s.value("size_bytes", uint64_t{0})),
                            s.value("tables", 0), s.value("rows", uint64_t{0}),
                            util::human_duration_ms(s.value("build_ms", 0LL)),
                            s.value("closed_at", "")));
}

void show_artifacts(Console &console, const model::Manifest &m) {
  console.print("  artifacts:");
  std::set<std::string> described; // a database's facts once, whatever its formats
  for (const auto &a : m.artifacts) {
    console.print(
        fmt::format("  - {} {} ({}, {}): {}", a.kind, a.target, a.format, a.compression, a.path));
    console.print(
        fmt::format("    {} in {} file(s)", util::human_bytes(a.bytes()), a.files.size()));
    if (a.encrypted()) console.print("    encrypted (age) to " + model::describe_recipients(a));
    if (a.kind == "volume")
      console.print(fmt::format(
          "    from {}: {} entries, {} files, {} of data", a.details.value("source", "?"),
          a.details.value("entries", uint64_t{0}), a.details.value("files", uint64_t{0}),
          util::human_bytes(a.details.value("content_bytes", uint64_t{0}))));
    if (a.details.contains("standby")) show_standby(console, a.details["standby"]);
    if (a.kind == "database" && a.format != "schema" && !described.count(a.target)) {
      show_database(console, a);
      described.insert(a.target);
    }
  }
  console.print("  verifications:");
  for (const auto &v : m.verifications)
    console.print(fmt::format("  - {} {} {} in {}: {}", v.artifact, model::to_string(v.level),
                              v.ok ? "ok" : "FAILED", util::human_duration_ms(v.duration_ms),
                              v.reason));
}

// The rollback time predicted from what the set measured, per target.
void show_prediction(Console &console, const model::Manifest &m) {
  auto p = steps::predict_rollback(m);
  if (p.targets.empty()) return;
  console.print(
      p.known ? fmt::format("  predicted rollback time: about {}", util::human_duration_ms(p.ms))
              : std::string("  predicted rollback time: unknown (a deep verify measures a "
                            "restore: `gate verify " +
                            m.id + " --deep`)"));
  for (const auto &t : p.targets)
    console.print("  - " + steps::describe(t));
}

// How to restore this set: with gate, and with plain tools should gate be gone.
void show_restore_commands(Console &console, const model::SetInfo &info) {
  const auto &m = *info.manifest;
  console.print("\nroll back with gate:");
  console.print(fmt::format("  gate rollback {} --dry-run\n  gate rollback {} --yes", m.id, m.id));
  console.print(
      "\nor with plain tools (see RESTORE.md; DATABASE_URL is the database to restore into):");
  console.print(
      fmt::format("  cd {} && sha256sum -c checksums.sha256", shell_quote(info.dir.string())));
  for (const auto &a : m.artifacts)
    for (const auto &line : model::plain_restore_commands(a, info.dir))
      console.print("  " + line);
}

// The plain `aws s3 cp` that brings each confirmed off-site copy home.
void show_remote_commands(Console &console, const config::PipelineConfig &config,
                          const model::SetInfo &info) {
  auto copies =
      model::remote_copies_from_json(info.manifest->extra.value("remotes", nlohmann::json()));
  if (copies.empty()) return;
  console.print("\nfetch an off-site copy with plain tools (AWS credentials of the remote):");
  for (const auto &c : copies) {
    const auto *remote = config.find_remote(c.name);
    std::string endpoint = remote ? remote->endpoint : c.endpoint;
    console.print(fmt::format("  # {}, confirmed {}", c.name, c.confirmed_at));
    console.print(
        fmt::format("  aws s3 cp --recursive {}{} {}",
                    endpoint.empty() ? "" : "--endpoint-url " + shell_quote(endpoint) + " ",
                    shell_quote(c.url), shell_quote("./" + info.id + "/")));
  }
  console.print(fmt::format("  cd {} && sha256sum -c checksums.sha256", shell_quote(info.id)));
}

} // namespace

int show_command(Args &args, Console &console) {
  int code = 0;
  auto config = load_config(args, console, code);
  if (!config) return code;
  auto chosen = chosen_set(args, *config);
  if (!chosen) return report_error(console, chosen.error());
  std::string id = *chosen;
  model::LocalSetStore store(config->backup_root);
  auto info = store.find(id);
  if (!info) return report_error(console, info.error());
  if (!info->manifest)
    return report_error(console, {util::ErrorKind::failed, "set '" + id + "': " + info->problem});
  if (args.output.json) {
    auto j = model::to_json(*info->manifest);
    j["path"] = info->dir.string();
    console.json(j);
    return 0;
  }
  if (args.env) {
    show_env(console, *info);
    return 0;
  }
  show_summary(console, *info);
  show_artifacts(console, *info->manifest);
  show_prediction(console, *info->manifest);
  show_restore_commands(console, *info);
  show_remote_commands(console, *config, *info);
  show_replaced_copies(console, *config);
  return 0;
}

} // namespace gate::cli
