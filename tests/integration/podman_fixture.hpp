// The Podman engine the named-volume tests share (its Docker-compatible API
// on a private socket, ci/podman-sandbox, or ctest's shared engine), and
// helpers for them. Every test using it is in the suite `Podman` (ctest
// gives that suite the engine fixture).
#pragma once

#include "integration/harness.hpp"
#include "util/fd.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/inotify.h>
#include <unistd.h>

namespace gate::test {

// Waits (inotify, bounded) until `file` holds at least `lines` lines: a
// container that is "running" may not yet have run its first command.
inline std::string wait_for_lines(const fs::path &file, int lines) {
  gate::util::UniqueFd fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  ::inotify_add_watch(fd.get(), file.parent_path().c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE);
  auto count = [&] { return sh("wc -l < '" + file.string() + "' 2>/dev/null || echo 0").out; };
  for (int i = 0; i < 300; ++i) {
    std::string n = count();
    if (std::atoi(n.c_str()) >= lines) return n;
    struct pollfd p {
      fd.get(), POLLIN, 0
    };
    if (::poll(&p, 1, 100) > 0) {
      alignas(inotify_event) char buf[4096];
      while (::read(fd.get(), buf, sizeof buf) > 0) {
      }
    }
  }
  return count();
}

class Podman : public ::testing::Test {
protected:
  static void SetUpTestSuite() { start_engine(true); }
  // ctest's shared engine when `may_share` and there is one, else the suite's own
  // (a suite that breaks its engine on purpose must have its own).
  static void start_engine(bool may_share) {
    CommandResult r;
    fs::path state = may_share ? fixture_state("podman") : fs::path();
    if (!state.empty()) { // ctest's shared engine
      s_shared = true;
      r.exit_code = 0;
      r.out = read_file(state);
    } else {
      s_dir = "/tmp/gate-podman-" + std::to_string(::getpid());
      r = run({(source_dir() / "ci" / "podman-sandbox").string(), "start", s_dir});
    }
    // Podman must run here: failing (not skipping) keeps CI honest.
    ASSERT_EQ(r.exit_code, 0) << "unable to start Podman for the tests:\n" << r.all();
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("export ", 0) != 0) continue;
      auto eq = line.find('=');
      std::string value = line.substr(eq + 1);
      if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"'))
        value = value.substr(1, value.size() - 2);
      s_env[line.substr(7, eq - 7)] = value;
    }
    s_socket = s_env["GATE_PODMAN_SOCKET"];
    ASSERT_FALSE(s_socket.empty()) << r.out;
  }
  static void TearDownTestSuite() {
    if (!s_shared) run({(source_dir() / "ci" / "podman-sandbox").string(), "stop", s_dir});
  }

  static CommandResult podman(const std::string &args) { return sh("podman " + args, {}, s_env); }
  static std::string podman_out(const std::string &args) {
    auto r = podman(args);
    EXPECT_EQ(r.exit_code, 0) << "podman " << args << "\n" << r.all();
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n')
      out.pop_back();
    return out;
  }
  // A compose-style volume with a few files; returns its mountpoint.
  static std::string make_volume(const std::string &name) {
    podman("rm -f -t 0 -a >/dev/null");
    podman("volume rm -f " + name + " >/dev/null 2>&1 || true");
    podman_out(
        "volume create --label com.docker.compose.project=local-dev-setup --label tier=wiki " +
        name);
    std::string mountpoint = podman_out("volume inspect --format '{{.Mountpoint}}' " + name);
    make_sample_tree(mountpoint, 5);
    return mountpoint;
  }
  // A running container `name` with `volume` mounted at /data, doing nothing.
  static void start_user(const std::string &name, const std::string &volume) {
    podman_out("run -d --name " + name + " --network none -v " + volume +
               ":/data localhost/gate-busybox:latest sleep 600");
  }
  std::string pipeline(const std::string &volume, const std::string &extra = "") const {
    return "socket: unix://" + s_socket +
           "\nvolumes:\n  - name: confluence\n    volume: " + volume + "\n" + extra;
  }

  static inline std::string s_dir;
  static inline bool s_shared = false;
  static inline std::string s_socket;
  static inline std::map<std::string, std::string> s_env;
};

inline const std::string k_volume = "local-dev-setup_confluence_data";

} // namespace gate::test
