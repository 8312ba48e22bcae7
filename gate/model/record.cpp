#include "model/record.hpp"

#include "util/fs.hpp"
#include "util/json.hpp"
#include "util/time.hpp"

namespace gate::model {

nlohmann::json remote_copies_json(const std::vector<RemoteCopy> &copies) {
  auto out = nlohmann::json::array();
  for (const auto &c : copies) {
    nlohmann::json j{{"name", c.name}, {"url", c.url}, {"confirmed_at", c.confirmed_at}};
    if (!c.endpoint.empty()) j["endpoint"] = c.endpoint;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<RemoteCopy> remote_copies_from_json(const nlohmann::json &j) {
  std::vector<RemoteCopy> out;
  if (!j.is_array()) return out;
  for (const auto &c : j)
    if (c.is_object() && c.value("name", nlohmann::json()).is_string() &&
        c.value("url", nlohmann::json()).is_string())
      out.push_back({c["name"].get<std::string>(), c["url"].get<std::string>(),
                     c.value("endpoint", std::string()), c.value("confirmed_at", std::string())});
  return out;
}

util::Result<void> write_record(const std::filesystem::path &record_path, const Manifest &m,
                                const std::filesystem::path &set_dir,
                                const std::vector<RemoteCopy> &remotes) {
  nlohmann::json j;
  j["id"] = m.id;
  j["path"] = std::filesystem::absolute(set_dir).lexically_normal().string();
  j["created_at"] = m.created_at;
  j["recorded_at"] = util::iso8601_utc(util::Clock::now());
  j["project"] = m.project;
  j["environment"] = m.environment;
  j["git"] = m.git;
  if (m.git.is_object()) {
    j["git_commit"] = m.git.value("commit", nlohmann::json());
    j["git_branch"] = m.git.value("branch", nlohmann::json());
  } else {
    j["git_commit"] = nullptr;
    j["git_branch"] = nullptr;
  }
  j["artifacts"] = nlohmann::json::array();
  for (const auto &a : m.artifacts) {
    nlohmann::json aj{
        {"target", a.target},
        {"kind", a.kind},
        {"format", a.format},
        {"path", (std::filesystem::absolute(set_dir) / a.path).lexically_normal().string()},
        {"bytes", a.bytes()}};
    if (a.files.size() == 1 && a.files[0].path == a.path) {
      aj["sha256"] = a.files[0].sha256;
    } else {
      aj["files"] = nlohmann::json::array();
      for (const auto &f : a.files)
        aj["files"].push_back({{"path", f.path}, {"sha256", f.sha256}});
    }
    j["artifacts"].push_back(std::move(aj));
  }
  j["remotes"] = remote_copies_json(remotes);
  // The temporary file's name alone would not say that the record is what failed.
  TRY_CONTEXT(
      util::write_file_atomic(record_path, util::json_text(j, 2) + "\n", 0644, "run.mid-record"),
      "unable to write the record " + record_path.string());
  return {};
}

util::Result<std::optional<std::string>> read_record_id(const std::filesystem::path &record_path) {
  std::error_code ec;
  if (!std::filesystem::exists(record_path, ec)) return std::optional<std::string>();
  TRY_ASSIGN(std::string text, util::read_file(record_path));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_string())
    return util::fail("unable to read record '" + record_path.string() + "': not a gate record");
  return std::optional<std::string>(j["id"].get<std::string>());
}

util::Result<void> check_record_root(const std::filesystem::path &record_path,
                                     const std::filesystem::path &backup_root) {
  std::error_code ec;
  if (!std::filesystem::exists(record_path, ec)) return {};
  TRY_ASSIGN(std::string text, util::read_file(record_path));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("path") || !j["path"].is_string()) return {};
  auto set_dir = std::filesystem::path(j["path"].get<std::string>());
  auto root_of_record = std::filesystem::weakly_canonical(set_dir.parent_path(), ec);
  if (ec) root_of_record = set_dir.parent_path();
  auto ours = std::filesystem::weakly_canonical(std::filesystem::absolute(backup_root), ec);
  if (ec) ours = std::filesystem::absolute(backup_root).lexically_normal();
  if (root_of_record == ours) return {};
  return util::fail(record_path.string() + " names set '" + set_dir.filename().string() +
                    "' in backup root '" + root_of_record.string() +
                    "', which belongs to another pipeline (this one's backup_root is '" +
                    ours.string() +
                    "')\nhint: give each pipeline its own record: in pipeline.yml, or pass a set "
                    "id from `gate list`");
}

} // namespace gate::model
