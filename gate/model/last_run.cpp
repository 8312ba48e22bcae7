#include "model/last_run.hpp"

#include "util/fs.hpp"
#include "util/json.hpp"

namespace gate::model {

namespace {
constexpr const char *k_file = ".gate-last-run.json";
}

util::Result<void> write_last_run(const std::filesystem::path &backup_root, const LastRun &run) {
  nlohmann::json j{{"command", run.command},         {"ok", run.ok},
                   {"exit_code", run.exit_code},     {"verdict", run.verdict},
                   {"finished_at", run.finished_at}, {"set_id", run.set_id},
                   {"duration_ms", run.duration_ms}, {"project", run.project},
                   {"environment", run.environment}};
  TRY(util::make_dirs(backup_root, 0700));
  return util::write_file_atomic(backup_root / k_file, util::json_text(j, 2) + "\n", 0600);
}

util::Result<std::optional<LastRun>> read_last_run(const std::filesystem::path &backup_root) {
  std::error_code ec;
  if (!std::filesystem::exists(backup_root / k_file, ec)) return std::optional<LastRun>();
  TRY_ASSIGN(auto text, util::read_file(backup_root / k_file));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object())
    return util::fail("'" + (backup_root / k_file).string() + "' is not valid JSON");
  LastRun r;
  r.command = j.value("command", std::string());
  r.ok = j.value("ok", false);
  r.exit_code = j.value("exit_code", 0);
  r.verdict = j.value("verdict", std::string());
  r.finished_at = j.value("finished_at", std::string());
  r.set_id = j.value("set_id", std::string());
  r.duration_ms = j.value("duration_ms", 0LL);
  r.project = j.value("project", std::string());
  r.environment = j.value("environment", std::string());
  return std::optional<LastRun>(r);
}

} // namespace gate::model
