// README's ci/demo on a busy machine: something already listens on the demo's
// port, and the demo still runs end to end (with the gate already built).
#include "integration/harness.hpp"
#include "util/fd.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr int k_demo_port = 55432; // ci/demo's default

// Listens on 127.0.0.1:port; an invalid fd when something already does (busy either way).
gate::util::UniqueFd occupy(int port) {
  gate::util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 1) != 0) {
    EXPECT_EQ(errno, EADDRINUSE) << "unable to listen on port " << port;
    return {};
  }
  return fd;
}

} // namespace

TEST(Demo, ABusyPortIsRefusedClearlyOrSkippedAndTheDemoRunsEndToEnd) {
  TempDir t;
  auto listener = occupy(k_demo_port);
  std::string sandbox = (source_dir() / "ci" / "pg-sandbox").string();

  // Without --any-port: one clear line, nothing left behind.
  auto refused = run({sandbox, "start", (t / "pg").string(), std::to_string(k_demo_port), "pw"});
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_THAT(refused.err, HasSubstr("port 55432 on 127.0.0.1 is in use by another program"));
  EXPECT_THAT(refused.all(), Not(HasSubstr("could not bind")));
  EXPECT_FALSE(fs::exists(t / "pg"));

  std::string build = fs::path(gate_binary()).parent_path().string();
  std::map<std::string, std::string> env{{"GATE_DEMO_DIR", (t / "demo").string()},
                                         {"GATE_BUILD", build}};
  auto demo = run({(source_dir() / "ci" / "demo").string(), "--no-build"}, t.path(), env);
  auto stopped = run({(source_dir() / "ci" / "demo").string(), "stop"}, t.path(), env);
  EXPECT_EQ(demo.exit_code, 0) << demo.all();
  EXPECT_THAT(demo.err, testing::ContainsRegex(
                            "port 55432 on 127.0.0.1 is in use; PostgreSQL listens on 5543[3-9]"));
  EXPECT_THAT(demo.all(), Not(HasSubstr("could not bind")));
  EXPECT_THAT(demo.out,
              testing::ContainsRegex("\nOK: set pre-deployment-[0-9_]+ verified .* and recorded"));
  EXPECT_THAT(demo.out,
              testing::ContainsRegex("\nOK: set pre-deployment-[0-9_]+ verified \\(full\\)"));
  // The last lines say how to run the gate that was built.
  EXPECT_THAT(demo.out, HasSubstr("The gate you built is " + gate_binary()));
  EXPECT_THAT(demo.out, HasSubstr("export PATH=\"" + build + ":$PATH\""));
  EXPECT_THAT(demo.out,
              HasSubstr("gate rollback --last --dry-run\nStop the demo with: ci/demo stop\n"));
  EXPECT_EQ(stopped.exit_code, 0) << stopped.all();
  EXPECT_FALSE(fs::exists(t / "demo"));
}
