#include "integration/harness.hpp"

#include "util/fd.hpp"
#include "util/process.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gate::test {

std::string gate_binary() {
  return GATE_BINARY;
}
fs::path source_dir() {
  return GATE_SOURCE_DIR;
}

CommandResult run(const std::vector<std::string> &argv, const fs::path &cwd,
                  const std::map<std::string, std::string> &env) {
  util::ProcessSpec spec;
  spec.argv = argv;
  spec.cwd = cwd;
  spec.env = env;
  spec.stdout_mode = util::StreamMode::pipe;
  spec.stderr_mode = util::StreamMode::pipe;
  CommandResult r;
  auto out = util::run_command(spec, std::chrono::minutes(10));
  if (!out) {
    r.err = out.error().message;
    return r;
  }
  r.exit_code = out->status.signal ? 128 + out->status.signal : out->status.code;
  r.out = out->out;
  r.err = out->err;
  return r;
}

CommandResult sh(const std::string &script, const fs::path &cwd,
                 const std::map<std::string, std::string> &env) {
  return run({"bash", "-c", "set -euo pipefail\n" + script}, cwd, env);
}

CommandResult run_gate(const std::vector<std::string> &args, const fs::path &cwd,
                       const std::map<std::string, std::string> &env) {
  std::vector<std::string> argv{gate_binary(), "--no-color"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, cwd, env);
}

std::unique_ptr<gate::util::Process> start_gate(const std::vector<std::string> &args,
                                                const fs::path &cwd,
                                                const std::map<std::string, std::string> &env) {
  gate::util::ProcessSpec spec;
  spec.env = env;
  spec.argv = {gate_binary(), "--no-color"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.cwd = cwd;
  spec.stdout_mode = gate::util::StreamMode::pipe;
  auto started = gate::util::Process::start(spec);
  if (!started) throw std::runtime_error("cannot start gate: " + started.error().message);
  return std::move(*started);
}

std::unique_ptr<gate::util::Process> start_gate_at_fault(const std::vector<std::string> &args,
                                                         const fs::path &cwd,
                                                         const std::string &point,
                                                         std::map<std::string, std::string> env) {
  fs::path fifo = cwd / ".fault.fifo";
  fs::remove(fifo);
  if (::mkfifo(fifo.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
  env["GATE_FAULT_POINT"] = point;
  env["GATE_FAULT_FIFO"] = fifo.string();
  auto gate = start_gate(args, cwd, env);
  // Gate writes the point's name when it gets there; a gate that ended
  // first (a failure before the point) is noticed instead of waited for.
  gate::util::UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  std::string line;
  for (int waited = 0; fd && waited < 3000 && line.find('\n') == std::string::npos; ++waited) {
    struct pollfd p {
      fd.get(), POLLIN, 0
    };
    if (::poll(&p, 1, 100) > 0) {
      char buf[256];
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n > 0) line.append(buf, static_cast<size_t>(n));
    }
    std::string stat = read_file("/proc/" + std::to_string(gate->pid()) + "/stat");
    size_t close = stat.rfind(')');
    if (line.empty() &&
        (stat.empty() || (close != std::string::npos && stat.substr(close + 2, 1) == "Z")))
      throw std::runtime_error("gate ended before it reached fault point " + point + ":\n" +
                               finish_gate(*gate).all());
  }
  if (line != point + "\n") throw std::runtime_error("gate did not reach fault point " + point);
  return gate;
}

std::string read_output_until(gate::util::Process &p,
                              const std::function<bool(const std::string &)> &done,
                              std::chrono::seconds bound) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done(out) && std::chrono::steady_clock::now() < deadline) {
    struct pollfd fd {
      p.stdout_fd(), POLLIN, 0
    };
    if (::poll(&fd, 1, 1000) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(p.stdout_fd(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

CommandResult finish_gate(gate::util::Process &gate) {
  CommandResult r;
  char buf[4096];
  for (ssize_t n; (n = ::read(gate.stdout_fd(), buf, sizeof buf)) > 0;)
    r.out.append(buf, static_cast<size_t>(n));
  auto status = gate.wait();
  if (!status) throw std::runtime_error("cannot wait for gate: " + status.error().message);
  r.exit_code = status->code;
  r.err = gate.stderr_tail();
  return r;
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "gate-test-XXXXXX").string();
  char *made = ::mkdtemp(tmpl.data());
  if (!made) throw std::runtime_error("mkdtemp failed");
  m_path = made;
  fs::permissions(m_path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
}

TempDir::~TempDir() {
  if (std::getenv("GATE_TEST_KEEP")) return; // for debugging a failure by hand
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

void write_file(const fs::path &path, const std::string &content) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string read_file(const fs::path &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void make_sample_tree(const fs::path &root, int files) {
  fs::create_directories(root / "docs" / "deep" / "deeper");
  for (int i = 0; i < files; ++i) {
    std::string text;
    for (int j = 0; j < 50 + i * 7; ++j)
      text += "line " + std::to_string(j) + " of file " + std::to_string(i) + "\n";
    write_file(root / "docs" / ("file" + std::to_string(i) + ".txt"), text);
  }
  std::string binary;
  unsigned x = 12345;
  for (int i = 0; i < 300000; ++i) {
    x = x * 1103515245 + 12345;
    binary.push_back(static_cast<char>(x >> 16));
  }
  write_file(root / "blob.bin", binary);
  write_file(root / "docs" / "deep" / "deeper" / "secret.txt", "mode 600\n");
  fs::permissions(root / "docs" / "deep" / "deeper" / "secret.txt",
                  fs::perms::owner_read | fs::perms::owner_write);
  write_file(root / "run.sh", "#!/bin/sh\necho hi\n");
  fs::permissions(root / "run.sh",
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  fs::create_symlink("docs/file0.txt", root / "link-to-file0");
  fs::create_symlink("/nonexistent/target", root / "dangling");
  fs::create_hard_link(root / "docs" / "file0.txt", root / "hardlink-to-file0");
  fs::create_directories(root / "empty-dir");
}

namespace {
int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr *>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(s);
  return port;
}
} // namespace

namespace {
PgServer g_server;
}

PgServer &PgServer::get() {
  if (!g_server.m_started) g_server.start();
  return g_server;
}

void PgServer::stop_if_started() {
  g_server.stop();
}

fs::path fixture_state(const std::string &name) {
  const char *dir = std::getenv("GATE_TEST_FIXTURES");
  if (!dir || !*dir) return {};
  fs::path state = fs::path(dir) / (name + ".env");
  std::error_code ec;
  return fs::exists(state, ec) ? state : fs::path();
}

namespace {
std::string bindir_of_newest_server() {
  auto dirs = run({"bash", "-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1"});
  return dirs.out.substr(0, dirs.out.find('\n'));
}
} // namespace

void PgServer::start() {
  m_bindir = bindir_of_newest_server();
  if (fs::path state = fixture_state("pg"); !state.empty()) {
    std::istringstream lines(read_file(state));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("dir=", 0) == 0) m_dir = line.substr(4);
      if (line.rfind("port=", 0) == 0) m_port = std::stoi(line.substr(5));
      if (line.rfind("password=", 0) == 0) m_password = line.substr(9);
    }
    m_shared = m_started = m_port > 0 && !m_password.empty();
    if (m_started) return;
    std::fprintf(stderr, "unreadable PostgreSQL fixture state %s\n", state.c_str());
    std::abort();
  }
  start_private();
}

void PgServer::start_private() {
  static int started = 0; // several servers in one process get their own directories
  m_bindir = bindir_of_newest_server();
  m_dir = fs::path("/tmp") / ("gate-pg-" + std::to_string(::getpid()) +
                              (started++ ? "-" + std::to_string(started) : ""));
  m_port = free_port();
  m_password = "pw-" + std::to_string(::getpid()) + "-" + std::to_string(started) + "-Secr3t";
  auto r = run({(source_dir() / "ci" / "pg-sandbox").string(), "start", m_dir.string(),
                std::to_string(m_port), m_password, "--any-port"});
  if (r.exit_code != 0) {
    std::fprintf(stderr, "unable to start PostgreSQL for the tests: %s\n", r.all().c_str());
    std::abort(); // tests needing PostgreSQL must fail, not skip
  }
  m_port = std::stoi(read_file(m_dir / "port")); // --any-port: another if that one was taken
  m_started = true;
}

void PgServer::halt() const {
  if (m_shared) throw std::logic_error("the shared PostgreSQL server is never halted");
  auto r = run({(source_dir() / "ci" / "pg-sandbox").string(), "halt", m_dir.string()});
  EXPECT_EQ(r.exit_code, 0) << "pg-sandbox halt: " << r.all();
}

void PgServer::resume() const {
  auto r = run({(source_dir() / "ci" / "pg-sandbox").string(), "resume", m_dir.string()});
  EXPECT_EQ(r.exit_code, 0) << "pg-sandbox resume: " << r.all();
}

void PgServer::stop() {
  if (!m_started) return;
  if (m_shared) { // the fixture's cleanup test stops it
    m_started = false;
    return;
  }
  run({(source_dir() / "ci" / "pg-sandbox").string(), "stop", m_dir.string()});
  m_started = false;
}

std::string PgServer::url(const std::string &db) const {
  return "postgresql://gate:" + m_password + "@127.0.0.1:" + std::to_string(m_port) + "/" + db;
}

CommandResult PgServer::psql(const std::string &db, const std::string &sql, bool check) const {
  auto r = run({m_bindir + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", "127.0.0.1",
                "-p", std::to_string(m_port), "-U", "gate", "-d", db, "-c", sql},
               {}, {{"PGPASSWORD", m_password}});
  if (check) {
    EXPECT_EQ(r.exit_code, 0) << "psql failed: " << sql << "\n" << r.all();
  }
  return r;
}

std::unique_ptr<gate::util::Process> PgServer::open_session(const std::string &db) const {
  util::ProcessSpec spec;
  spec.argv = {m_bindir + "/psql",     "-X", "-q",   "-At", "-h", "127.0.0.1", "-p",
               std::to_string(m_port), "-U", "gate", "-d",  db};
  spec.env = {{"PGPASSWORD", m_password}};
  spec.stdin_mode = util::StreamMode::pipe;
  auto started = util::Process::start(spec);
  if (!started) throw std::runtime_error("cannot start psql: " + started.error().message);
  return std::move(*started);
}

bool session_send(gate::util::Process &session, const std::string &sql) {
  if (::write(session.stdin_fd(), sql.data(), sql.size()) != static_cast<ssize_t>(sql.size()))
    return false;
  char buf[256];
  return ::read(session.stdout_fd(), buf, sizeof buf) > 0;
}

std::string PgServer::value(const std::string &db, const std::string &sql) const {
  auto r = psql(db, sql);
  std::string v = r.out;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
    v.pop_back();
  return v;
}

void PgServer::create_database(const std::string &name) const {
  psql("postgres", "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
  psql("postgres", "CREATE DATABASE \"" + name + "\"");
}

std::string PgServer::create_owned_database(const std::string &name, const std::string &role,
                                            const std::string &password, int rows) const {
  psql("postgres", "DROP ROLE IF EXISTS " + role);
  psql("postgres", "CREATE ROLE " + role + " LOGIN PASSWORD '" + password + "'");
  create_database(name);
  psql("postgres", "ALTER DATABASE " + name + " OWNER TO " + role);
  psql(name, "SET ROLE " + role +
                 "; CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, " +
                 std::to_string(rows) + ")");
  return "postgresql://" + role + ":" + password + "@127.0.0.1:" + std::to_string(m_port) + "/" +
         name;
}

void fill_sample_database(const std::string &db, int n) {
  fill_sample_database(PgServer::get(), db, n);
}

void fill_sample_database(const PgServer &pg, const std::string &db, int n) {
  pg.psql(db, "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, note text, "
              "created timestamptz "
              "DEFAULT now())");
  pg.psql(db,
          "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers, total "
          "numeric(10,2), items jsonb, raw bytea)");
  pg.psql(db, "CREATE TABLE empty_table (id int)");
  pg.psql(db, "CREATE SCHEMA billing");
  pg.psql(db, "CREATE TABLE billing.invoices (id bigint PRIMARY KEY, amount int)");
  pg.psql(db,
          "INSERT INTO customers (name, note) SELECT 'customer ' || g, CASE WHEN g % 10 = 0 THEN "
          "E'multi\\nline, \"quoted\"' ELSE NULL END FROM generate_series(1, " +
              std::to_string(n) + ") g");
  pg.psql(db, "INSERT INTO orders (customer_id, total, items, raw) SELECT 1 + g % " +
                  std::to_string(n) +
                  ", g / 7.0, jsonb_build_object('sku', g), decode(md5(g::text), 'hex') FROM "
                  "generate_series(1, " +
                  std::to_string(2 * n) + ") g");
  pg.psql(db, "INSERT INTO billing.invoices SELECT g, g FROM generate_series(1, 100) g");
}

void write_pipeline(const fs::path &dir, const std::string &body) {
  write_file(dir / "pipeline.yml", "version: 1\n" + body);
}

std::string newest_set(const fs::path &root) {
  std::string best;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(root, ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.' || !e.is_directory()) continue;
    if (name > best) best = name;
  }
  return best;
}

} // namespace gate::test

namespace {
class PgEnvironment : public ::testing::Environment {
public:
  void TearDown() override { gate::test::PgServer::stop_if_started(); }
};
} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new PgEnvironment);
  return RUN_ALL_TESTS();
}
