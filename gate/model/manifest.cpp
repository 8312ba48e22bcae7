#include "model/manifest.hpp"

#include "util/fs.hpp"
#include "util/json.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace gate::model {

using nlohmann::json;

uint64_t Artifact::bytes() const {
  uint64_t total = 0;
  for (const auto &f : files)
    total += f.bytes;
  return total;
}

const char *to_string(VerifyLevel level) {
  switch (level) {
  case VerifyLevel::quick:
    return "quick";
  case VerifyLevel::full:
    return "full";
  case VerifyLevel::deep:
    return "deep";
  }
  return "quick";
}

uint64_t Manifest::total_bytes() const {
  uint64_t total = 0;
  for (const auto &a : artifacts)
    total += a.bytes();
  return total;
}

const Artifact *Manifest::find_artifact(const std::string &path) const {
  for (const auto &a : artifacts)
    if (a.path == path) return &a;
  return nullptr;
}

std::optional<VerifyLevel> Manifest::verified_level() const {
  if (artifacts.empty()) return std::nullopt;
  std::optional<VerifyLevel> weakest;
  for (const auto &a : artifacts) {
    std::optional<VerifyLevel> best;
    for (const auto &v : verifications) {
      if (v.artifact != a.path) continue;
      if (!v.ok)
        best.reset(); // a later failure cancels an earlier pass
      else if (!best || v.level > *best)
        best = v.level;
    }
    if (!best) return std::nullopt;
    if (!weakest || *best < *weakest) weakest = best;
  }
  return weakest;
}

std::vector<std::string> Manifest::encrypted_to() const {
  std::vector<std::string> out;
  auto add = [&out](const std::string &who) {
    if (std::find(out.begin(), out.end(), who) == out.end()) out.push_back(who);
  };
  for (const auto &a : artifacts) {
    if (!a.encrypted()) continue;
    for (const auto &r : a.encryption.value("recipients", json::array()))
      add(r.get<std::string>());
    if (a.encryption.contains("passphrase")) add("passphrase (scrypt)");
  }
  return out;
}

bool Manifest::has_failed_verification() const {
  std::map<std::string, bool> last_ok;
  for (const auto &v : verifications)
    last_ok[v.artifact] = v.ok;
  for (auto &[path, ok] : last_ok)
    if (!ok) return true;
  return false;
}

json to_json(const Manifest &m) {
  json j;
  j["manifest_version"] = 1;
  j["id"] = m.id;
  j["kind"] = m.kind;
  j["status"] = m.status;
  j["created_at"] = m.created_at;
  j["project"] = m.project;
  j["environment"] = m.environment;
  j["gate_version"] = m.gate_version;
  j["host"] = m.host;
  j["git"] = m.git;
  j["artifacts"] = json::array();
  for (const auto &a : m.artifacts) {
    json aj{{"target", a.target},           {"kind", a.kind}, {"format", a.format},
            {"compression", a.compression}, {"path", a.path}, {"bytes", a.bytes()}};
    aj["files"] = json::array();
    for (const auto &f : a.files) {
      json fj{{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}};
      if (f.plaintext) {
        fj["plaintext_bytes"] = f.plaintext->bytes;
        fj["plaintext_sha256"] = f.plaintext->sha256;
      }
      aj["files"].push_back(std::move(fj));
    }
    aj["details"] = a.details;
    if (a.encrypted()) aj["encryption"] = a.encryption;
    j["artifacts"].push_back(std::move(aj));
  }
  j["verifications"] = json::array();
  for (const auto &v : m.verifications)
    j["verifications"].push_back({{"artifact", v.artifact},
                                  {"level", to_string(v.level)},
                                  {"result", v.ok ? "ok" : "failed"},
                                  {"reason", v.reason},
                                  {"duration_ms", v.duration_ms},
                                  {"at", v.at},
                                  {"metrics", v.metrics}});
  j["timings"] = m.timings;
  j["extra"] = m.extra;
  if (!m.failure.empty()) j["failure"] = m.failure;
  return j;
}

util::Result<Manifest> manifest_from_json(const json &j) {
  try {
    Manifest m;
    m.id = j.at("id").get<std::string>();
    m.kind = j.value("kind", "");
    m.status = j.value("status", "");
    m.created_at = j.at("created_at").get<std::string>();
    m.project = j.value("project", "");
    m.environment = j.value("environment", "");
    m.gate_version = j.value("gate_version", "");
    m.host = j.value("host", "");
    m.git = j.value("git", json());
    for (const auto &aj : j.at("artifacts")) {
      Artifact a;
      a.target = aj.at("target").get<std::string>();
      a.kind = aj.at("kind").get<std::string>();
      a.format = aj.value("format", "");
      a.compression = aj.value("compression", "");
      a.path = aj.at("path").get<std::string>();
      for (const auto &fj : aj.at("files")) {
        StoredFile f{fj.at("path").get<std::string>(), fj.at("bytes").get<uint64_t>(),
                     fj.at("sha256").get<std::string>(), std::nullopt};
        if (fj.contains("plaintext_sha256"))
          f.plaintext = StoredFile::Plaintext{fj.at("plaintext_bytes").get<uint64_t>(),
                                              fj.at("plaintext_sha256").get<std::string>()};
        a.files.push_back(std::move(f));
      }
      a.details = aj.value("details", json::object());
      if (aj.contains("encryption") && aj["encryption"].is_object())
        a.encryption = aj["encryption"];
      m.artifacts.push_back(std::move(a));
    }
    for (const auto &vj : j.value("verifications", json::array())) {
      Verification v;
      v.artifact = vj.at("artifact").get<std::string>();
      std::string level = vj.value("level", "quick");
      v.level = level == "deep"   ? VerifyLevel::deep
                : level == "full" ? VerifyLevel::full
                                  : VerifyLevel::quick;
      v.ok = vj.value("result", "") == "ok";
      v.reason = vj.value("reason", "");
      v.duration_ms = vj.value("duration_ms", 0LL);
      v.at = vj.value("at", "");
      v.metrics = vj.value("metrics", json::object());
      m.verifications.push_back(std::move(v));
    }
    m.timings = j.value("timings", json::object());
    m.extra = j.value("extra", json::object());
    m.failure = j.value("failure", "");
    return m;
  } catch (const json::exception &e) {
    return util::fail(std::string("invalid manifest: ") + e.what());
  }
}

util::Result<Manifest> load_manifest(const std::filesystem::path &set_dir) {
  auto path = set_dir / "manifest.json";
  TRY_ASSIGN(std::string text, util::read_file(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return util::fail("unable to read '" + path.string() + "': not valid JSON");
  auto m = manifest_from_json(j);
  if (!m) return std::unexpected(m.error().with_context("unable to read '" + path.string() + "'"));
  return m;
}

util::Result<void> save_manifest(const std::filesystem::path &set_dir, const Manifest &m) {
  return util::write_file_atomic(set_dir / "manifest.json", util::json_text(to_json(m), 2) + "\n",
                                 0600);
}

} // namespace gate::model
