// Named volumes through a real Podman engine (its Docker-compatible API on a
// private socket, ci/podman-sandbox): resolution by name, the compose-prefix
// suggestion, no engine, containers stopped or paused while archived and
// running again afterwards, container configs, rollback into a removed volume.
#include "integration/podman_fixture.hpp"

#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(Podman, ResolvesANamedVolumeAndRecordsTheEngine) {
  std::string mountpoint = make_volume(k_volume);
  TempDir t;
  write_pipeline(t.path(), pipeline(k_volume));
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  std::string set = (t / "backups" / newest_set(t / "backups")).string();
  auto m = nlohmann::json::parse(read_file(fs::path(set) / "manifest.json"));
  auto facts = m["artifacts"][0]["details"]["source_facts"];
  EXPECT_EQ(facts["engine"], "Podman Engine");
  EXPECT_EQ(facts["volume"], k_volume);
  EXPECT_EQ(facts["labels"]["tier"], "wiki");
  EXPECT_EQ(facts["driver"], "local");
  EXPECT_FALSE(facts["engine_version"].get<std::string>().empty());
  auto x = sh("mkdir out && tar --zstd -xf " + set +
                  "/volumes/confluence.tar.zst -C out && diff -r --no-dereference '" + mountpoint +
                  "' out",
              t.path());
  EXPECT_EQ(x.exit_code, 0) << x.all();
}

TEST_F(Podman, AMissingVolumeSuggestsTheComposePrefixedName) {
  make_volume(k_volume);
  TempDir t;
  write_pipeline(t.path(), pipeline("confluence_data"));
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.all(), HasSubstr("no Podman Engine volume named 'confluence_data'; did you mean "
                                 "'local-dev-setup_confluence_data'?"));
  EXPECT_THAT(r.all(), HasSubstr("compose prefixes volume names"));
  EXPECT_TRUE(newest_set(t / "backups").empty());
  EXPECT_FALSE(fs::exists(t / ".last-deployment-backup"));
}

TEST_F(Podman, WithoutAnEngineTheErrorNamesEverySocketTried) {
  TempDir t;
  write_file(t / "not-a-socket", "");
  write_pipeline(t.path(), "socket: " + (t / "not-a-socket").string() +
                               "\nvolumes:\n  - {name: c, volume: " + k_volume + "}\n");
  auto r = run_gate({"run"}, t.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.all(), HasSubstr("no container engine reachable; tried:"));
  EXPECT_THAT(r.all(), HasSubstr("not-a-socket: not a socket"));
  // Without `socket:`, every usual place is named.
  write_pipeline(t.path(), "volumes:\n  - {name: c, volume: " + k_volume + "}\n");
  auto defaults = run_gate({"run"}, t.path(),
                           {{"DOCKER_HOST", "unix:///nonexistent/docker.sock"},
                            {"XDG_RUNTIME_DIR", "/nonexistent-xdg"}});
  EXPECT_EQ(defaults.exit_code, 1);
  EXPECT_THAT(defaults.all(), HasSubstr("/nonexistent/docker.sock: does not exist"));
  EXPECT_THAT(defaults.all(), HasSubstr("/run/podman/podman.sock"));
  EXPECT_THAT(defaults.all(), HasSubstr("/nonexistent-xdg/podman/podman.sock"));
  EXPECT_TRUE(newest_set(t / "backups").empty());
}

TEST_F(Podman, ContainersAreStoppedWhileArchivedAndStartedAgainEvenAfterAFailure) {
  std::string mountpoint = make_volume(k_volume);
  podman_out("run -d --name wiki --network none -e DB_PASSWORD=hunter2-secret -e "
             "DATABASE_URL=postgres://app:url-Secret9@db/app -v " +
             k_volume +
             ":/data localhost/gate-busybox:latest sh -c 'date >> /data/starts; exec sleep 600'");
  podman_out("run -d --name idle --network none -v " + k_volume +
             ":/data localhost/gate-busybox:latest sleep 600");
  podman_out("stop -t 0 idle"); // a stopped user stays stopped
  ASSERT_EQ(wait_for_lines(fs::path(mountpoint) / "starts", 1),
            "1\n"); // wiki's first start has run
  TempDir t;
  write_pipeline(
      t.path(),
      pipeline(k_volume,
               "    stop_containers: true\n    stop_timeout: 2s\n    container_configs: true\n"));
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), "running");
  EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' idle"), "exited");
  // Started once before the backup and once after it: it was stopped in between.
  EXPECT_EQ(wait_for_lines(fs::path(mountpoint) / "starts", 2), "2\n");
  std::string set = (t / "backups" / newest_set(t / "backups")).string();
  EXPECT_EQ(sh("tar --zstd -xOf " + set + "/volumes/confluence.tar.zst starts | wc -l").out, "1\n");
  auto m = nlohmann::json::parse(read_file(fs::path(set) / "manifest.json"));
  auto stopped = m["artifacts"][0]["details"]["containers_stopped"];
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0]["name"], "wiki");
  EXPECT_EQ(stopped[0]["action"], "stopped");
  std::string config = read_file(fs::path(set) / "containers" / "wiki.json");
  EXPECT_THAT(config, HasSubstr("DB_PASSWORD=***"));
  EXPECT_THAT(config, ::testing::Not(HasSubstr("hunter2-secret")));
  EXPECT_THAT(config, HasSubstr("DATABASE_URL=postgres://app:***@db/app"));
  EXPECT_THAT(config, ::testing::Not(HasSubstr("url-Secret9")));

  // A backup that fails after the archive still brings the container back.
  write_pipeline(
      t.path(),
      pipeline(k_volume, "    stop_containers: true\n    stop_timeout: 2s\n    min_size: 1GiB\n"));
  auto failed = run_gate({"run"}, t.path());
  EXPECT_EQ(failed.exit_code, 1) << failed.all();
  EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), "running");
  EXPECT_EQ(wait_for_lines(fs::path(mountpoint) / "starts", 3), "3\n");
}

TEST_F(Podman, PausedWhileArchivedThenUnpaused) {
  make_volume(k_volume);
  podman_out("run -d --name wiki --network none -v " + k_volume +
             ":/data localhost/gate-busybox:latest sleep 600");
  TempDir t;
  write_pipeline(t.path(), pipeline(k_volume, "    stop_containers: pause\n"));
  auto r = run_gate({"run"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), "running");
  auto m =
      nlohmann::json::parse(read_file(t / "backups" / newest_set(t / "backups") / "manifest.json"));
  EXPECT_EQ(m["artifacts"][0]["details"]["containers_stopped"][0]["action"], "paused");
}

// A gate killed (SIGKILL: no destructor runs) while the volume's users are
// stopped or paused leaves its journal in backup_root; the next gate, whatever
// its command, brings exactly those containers back and says so. Interrupted
// there (SIGTERM, SIGINT), gate brings them back itself.
TEST_F(Podman, ContainersLeftStoppedByAKilledGateAreBroughtBackByTheNextOne) {
  make_volume(k_volume);
  podman_out("run -d --name wiki --network none -v " + k_volume +
             ":/data localhost/gate-busybox:latest sleep 600");
  podman_out("run -d --name idle --network none -v " + k_volume +
             ":/data localhost/gate-busybox:latest sleep 600");
  podman_out("stop -t 0 idle"); // stopped by its owner: no gate starts it
  TempDir t;
  for (const std::string mode : {"true", "pause"}) {
    SCOPED_TRACE("stop_containers: " + mode);
    write_pipeline(t.path(),
                   pipeline(k_volume, "    stop_containers: " + mode + "\n    stop_timeout: 2s\n"));
    std::string held = mode == "pause" ? "paused" : "exited";
    auto killed = start_gate_at_fault({"run"}, t.path(), "quiesce.after-stop");
    EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), held);
    ::kill(killed->pid(), SIGKILL);
    (void)killed->wait();
    EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), held)
        << "nothing ran after the kill";
    auto next = run_gate({"list"}, t.path());
    EXPECT_EQ(next.exit_code, 0) << next.all();
    EXPECT_THAT(next.all(),
                HasSubstr("containers of volume '" + k_volume + "' were left " +
                          (mode == "pause" ? "paused" : "stopped") + " by a gate that died"));
    EXPECT_THAT(next.all(), HasSubstr(mode == "pause" ? "unpaused 'wiki'" : "started 'wiki'"));
    EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), "running");
    EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' idle"), "exited");
    EXPECT_EQ(sh("ls -A | grep -c gate-quiesced || true", t / "backups").out, "0\n");
    auto again = run_gate({"list"}, t.path());
    EXPECT_THAT(again.all(), Not(HasSubstr("by a gate that died"))) << "repaired once";

    auto interrupted = start_gate_at_fault({"run"}, t.path(), "quiesce.after-stop");
    ::kill(interrupted->pid(), mode == "pause" ? SIGINT : SIGTERM);
    auto stopped = finish_gate(*interrupted);
    EXPECT_EQ(stopped.exit_code, 130) << stopped.all();
    EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), "running");
    EXPECT_EQ(sh("ls -A | grep -c gate-quiesced || true", t / "backups").out, "0\n");
  }
  // Removed (or recreated by compose under a new id) before the next gate:
  // nothing to start, and the journal goes instead of warning forever.
  auto killed = start_gate_at_fault({"run"}, t.path(), "quiesce.after-stop");
  ::kill(killed->pid(), SIGKILL);
  (void)killed->wait();
  podman_out("rm -f wiki");
  auto next = run_gate({"list"}, t.path());
  EXPECT_THAT(next.all(), HasSubstr("'wiki' no longer exists")) << next.all();
  EXPECT_EQ(sh("ls -A | grep -c gate-quiesced || true", t / "backups").out, "0\n");
}

TEST_F(Podman, RollbackRecreatesARemovedVolumeAndRestartsItsUsers) {
  std::string mountpoint = make_volume(k_volume);
  TempDir t;
  write_pipeline(t.path(), pipeline(k_volume, "    stop_timeout: 2s\n"));
  ASSERT_EQ(run_gate({"run"}, t.path()).exit_code, 0);
  std::string before = sh("cd '" + mountpoint + "' && find . -printf '%m %y %s %p\\n' | sort").out;
  podman_out("volume rm " + k_volume);
  // A dry run, and a rollback refused for want of --yes, create nothing.
  auto dry = run_gate({"rollback", "--last", "--dry-run"}, t.path());
  EXPECT_EQ(dry.exit_code, 0) << dry.all();
  EXPECT_THAT(dry.out, HasSubstr("(named volume " + k_volume + ", to be created)"));
  EXPECT_EQ(run_gate({"rollback", "--last"}, t.path()).exit_code, 1);
  EXPECT_EQ(podman("volume exists " + k_volume).exit_code, 1);
  auto r = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(r.exit_code, 0) << r.all();
  EXPECT_EQ(podman_out("volume inspect --format '{{index .Labels \"tier\"}}' " + k_volume), "wiki");
  std::string restored = podman_out("volume inspect --format '{{.Mountpoint}}' " + k_volume);
  EXPECT_EQ(sh("cd '" + restored + "' && find . -printf '%m %y %s %p\\n' | sort").out, before);

  // And with a user running: stopped for the swap, started again.
  podman_out("run -d --name wiki --network none -v " + k_volume +
             ":/data localhost/gate-busybox:latest sleep 600");
  write_file(fs::path(restored) / "after.txt", "after the backup\n");
  auto again = run_gate({"rollback", "--last", "--yes"}, t.path());
  ASSERT_EQ(again.exit_code, 0) << again.all();
  EXPECT_FALSE(fs::exists(fs::path(restored) / "after.txt"));
  EXPECT_EQ(podman_out("inspect --format '{{.State.Status}}' wiki"), "running");
  EXPECT_EQ(podman_out("exec wiki cat /data/docs/file0.txt | head -n 1"), "line 0 of file 0");
}
