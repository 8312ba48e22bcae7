// The container engine's socket vanishing while gate has a named volume's
// containers stopped for its backup (a Podman engine of the suite's own,
// ci/podman-sandbox, never the shared one). gate cannot start them again:
// the run fails, says which containers are still stopped and the command
// that starts them, within a bounded time, and reports nothing as a backup.
#include "faults/fault_project.hpp"
#include "integration/podman_fixture.hpp"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gate::test;
using ::testing::HasSubstr;

namespace {

class EngineFaults : public Podman {
protected:
  static void SetUpTestSuite() { start_engine(false); } // this suite removes the socket

  static std::string state(const std::string &container) {
    return podman_out("inspect --format '{{.State.Status}}' " + container);
  }
};

// Puts the engine's socket back when the test ends, whatever it asserted.
struct HiddenSocket {
  fs::path socket, hidden;
  void hide() const { fs::rename(socket, hidden); }
  ~HiddenSocket() {
    std::error_code ec;
    if (fs::exists(hidden, ec)) fs::rename(hidden, socket, ec);
  }
};

} // namespace

TEST_F(EngineFaults, TheSocketVanishingWhileContainersAreStoppedNamesThemAndHowToStartThem) {
  make_volume(k_volume);
  start_user("wiki", k_volume);
  FaultProject p("ef_engine_gone", {});
  ProjectOptions o;
  o.extra = "socket: unix://" + s_socket + "\n";
  o.volumes = "  - name: confluence\n    volume: " + k_volume +
              "\n    stop_containers: true\n    stop_timeout: 1s\n";
  p.configure(o);
  auto first = p.gate({"run"});
  ASSERT_EQ(first.exit_code, 0) << first.all();
  ASSERT_EQ(state("wiki"), "running");
  auto before = p.snapshot();

  HiddenSocket socket{s_socket, s_socket + ".gone"};
  auto t = gate_with_fault_at(p, {"run"}, "quiesce.after-stop", [&] {
    EXPECT_EQ(state("wiki"), "exited"); // the podman CLI reads the storage, not the socket
    socket.hide();
  });
  std::string out = t.result.all();
  EXPECT_EQ(t.result.exit_code, 1) << out;
  EXPECT_THAT(out, HasSubstr("volume 'confluence' was archived, but containers did not come back"));
  EXPECT_THAT(out, HasSubstr("could not start container 'wiki' again through Podman"));
  EXPECT_THAT(out, HasSubstr(s_socket + " failed: could not connect"));
  EXPECT_THAT(out, HasSubstr("'wiki' is still stopped; once the engine answers, run: podman "
                             "start wiki"));
  EXPECT_LT(t.took, k_bound);
  EXPECT_EQ(state("wiki"), "exited") << "gate said it is still stopped";

  fs::rename(socket.hidden, socket.socket);
  p.expect_intact(before, {PgServer::get().password()});
  podman_out("start wiki"); // what gate told the operator to run
  EXPECT_EQ(state("wiki"), "running");
  auto next = p.gate({"run"});
  EXPECT_EQ(next.exit_code, 0) << next.all();
  EXPECT_EQ(state("wiki"), "running");
}
