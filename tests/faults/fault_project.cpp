#include "faults/fault_project.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gate::test {

using ::testing::HasSubstr;

namespace {

std::map<std::string, std::string> files_under(const fs::path &root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (const auto &e : fs::recursive_directory_iterator(root, ec))
    if (e.is_regular_file() && !e.is_symlink())
      out[fs::relative(e.path(), root).string()] = read_file(e.path());
  return out;
}

// Every set `gate list --json` shows as usable is a sealed directory whose
// files match its checksums (sha256sum -c, not gate's own reading).
void expect_listed_sets_whole(const FaultProject &p) {
  auto list = p.gate({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.all();
  auto sets = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(sets.is_array()) << list.out;
  for (const auto &s : sets) {
    if (s.value("failed", false)) continue;
    fs::path dir = s.value("path", "");
    EXPECT_NE(dir.filename().string().substr(0, 1), ".") << "listed as usable: " << dir;
    auto check = sh("sha256sum -c --quiet checksums.sha256", dir);
    EXPECT_EQ(check.exit_code, 0) << dir << ": " << check.all();
  }
}

} // namespace

std::string recorded_id(const std::string &record_text) {
  auto j = nlohmann::json::parse(record_text, nullptr, false);
  return j.is_object() ? j.value("id", "") : "";
}

FaultProject::FaultProject(const std::string &db, std::map<std::string, std::string> env,
                           const PgServer &server)
    : m_pg(&server), m_db(db), m_env(std::move(env)) {
  m_pg->create_database(db);
  fill_sample_database(*m_pg, db, 10);
  make_sample_tree(m_dir / "files", 4);
  m_env["FAULT_DATABASE_URL"] = m_pg->url(db);
}

void FaultProject::configure(const ProjectOptions &o) {
  std::string body = "project: faults\ndatabases:\n  - {name: app, url: '${FAULT_DATABASE_URL}', "
                     "min_size: 0" +
                     (o.database.empty() ? "" : ", " + o.database) +
                     "}\nvolumes:\n  - {name: files, path: ./files}\n" + o.volumes;
  m_options = o;
  body += "backup_root: ./" + o.backup_root + "\nrecord: ./" + o.record + "\n";
  if (o.retention) body += "retention: {keep_last: 1}\n";
  if (!o.remote_endpoint.empty())
    body += "remotes:\n  - name: offsite\n    url: s3://" + o.bucket + "/" + m_db +
            "\n    endpoint: " + o.remote_endpoint + "\n";
  write_pipeline(m_dir.path(), body + o.extra);
}

CommandResult FaultProject::gate(const std::vector<std::string> &args) const {
  return run_gate(args, m_dir.path(), m_env);
}

FaultProject::Snapshot FaultProject::snapshot() const {
  Snapshot s;
  if (fs::exists(record())) s.record = read_file(record());
  std::string id = recorded_id(s.record);
  if (!id.empty()) s.set_files = files_under(backups() / id);
  s.connection_settings = m_pg->value(
      "postgres",
      "SELECT datallowconn || ',' || datconnlimit FROM pg_database WHERE datname = '" + m_db + "'");
  return s;
}

void FaultProject::expect_intact(const Snapshot &before,
                                 const std::vector<std::string> &secrets) const {
  // The first command after a gate died repairs what it left (a closed database).
  expect_listed_sets_whole(*this);
  Snapshot now = snapshot();
  if (now.record == before.record) {
    EXPECT_EQ(now.set_files, before.set_files) << "the recorded set changed";
  } else {
    std::string id = recorded_id(now.record);
    ASSERT_FALSE(id.empty()) << "the record is not whole: " << now.record;
    auto check = sh("sha256sum -c --quiet checksums.sha256", backups() / id);
    EXPECT_EQ(check.exit_code, 0) << "the newly recorded set is not whole: " << check.all();
  }
  EXPECT_EQ(now.connection_settings, before.connection_settings);
  for (const auto &secret : secrets) {
    auto grep =
        sh("grep -rlF -D skip -- \"$SECRET\" . || true", m_dir.path(), {{"SECRET", secret}});
    EXPECT_EQ(grep.out, "") << "a secret was left in these files";
  }
}

Timed timed_gate(const FaultProject &p, const std::vector<std::string> &args) {
  auto start = std::chrono::steady_clock::now();
  auto r = p.gate(args);
  return {r, std::chrono::steady_clock::now() - start};
}

Timed gate_with_fault_at(const FaultProject &p, const std::vector<std::string> &args,
                         const std::string &point, const std::function<void()> &fault) {
  auto env = p.env();
  fs::path resume = p.dir() / ".resume";
  env["GATE_FAULT_RESUME"] = resume.string();
  auto start = std::chrono::steady_clock::now();
  auto gate = start_gate_at_fault(args, p.dir(), point, env);
  fault();
  write_file(resume, "");
  auto r = finish_gate(*gate);
  return {r, std::chrono::steady_clock::now() - start};
}

std::string FaultProject::orders() const {
  return m_pg->value(m_db, "SELECT count(*) FROM orders");
}

} // namespace gate::test
