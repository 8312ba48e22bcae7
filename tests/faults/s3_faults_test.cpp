// The S3 server dying while gate is in the middle of a multipart upload: a
// private s3rver (not the suite's: the others go on unaffected) killed with
// SIGKILL once the first part of a volume's archive is stored (the fault
// point offsite.after-part), then restarted on the same data directory.
// gate fails clearly within a bounded time, nothing is half-listed on the
// remote, the local set and record are as `required` says, and the upload the
// dead server could not abort is swept by the next run's day-old sweep.
#include "faults/fault_project.hpp"
#include "integration/s3_server.hpp"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr const char *k_dying_bucket = "gate-dying";

// A project whose volume `big` holds 12 MiB of random bytes: with part_size
// 5MiB its archive goes up in three parts.
struct DyingServerCase {
  S3Server s3{{k_dying_bucket}};
  FaultProject project;

  DyingServerCase(const std::string &db, bool required)
      : project(db, {{"AWS_ACCESS_KEY_ID", s3.access_key_id()},
                     {"AWS_SECRET_ACCESS_KEY", s3.secret_access_key()}}) {
    fs::create_directories(project.dir() / "big");
    sh("head -c 12582912 /dev/urandom > blob.bin", project.dir() / "big");
    ProjectOptions o;
    o.remote_endpoint = s3.endpoint();
    o.bucket = k_dying_bucket;
    o.retention = true; // keep_last: 1; the remote's sweep of day-old uploads runs after a run
    o.volumes = "  - {name: big, path: ./big}\n";
    o.extra = std::string("    part_size: 5MiB\n") + (required ? "" : "    required: false\n");
    project.configure(o);
  }

  // `gate run` with the server killed after the first part, then restarted.
  CommandResult run_while_the_server_dies(std::chrono::steady_clock::duration &took) {
    auto env = project.env();
    fs::path resume = project.dir() / ".resume";
    env["GATE_FAULT_RESUME"] = resume.string();
    auto start = std::chrono::steady_clock::now();
    auto gate = start_gate_at_fault({"run"}, project.dir(), "offsite.after-part", env);
    s3.kill();
    write_file(resume, "");
    auto r = finish_gate(*gate);
    took = std::chrono::steady_clock::now() - start;
    s3.restart();
    return r;
  }

  std::string remote_list() const {
    auto list = project.gate({"list", "--remote", "offsite", "--json"});
    EXPECT_EQ(list.exit_code, 0) << list.all();
    return list.out;
  }

  std::string objects_of(const std::string &id) const {
    return s3
        .aws({"s3", "ls", "--recursive",
              std::string("s3://") + k_dying_bucket + "/" + project.db() + "/" + id + "/"})
        .out;
  }

  std::string multipart_uploads() const {
    auto r = s3.aws({"s3api", "list-multipart-uploads", "--bucket", k_dying_bucket});
    EXPECT_EQ(r.exit_code, 0) << r.all();
    return r.out;
  }
};

} // namespace

TEST(RemoteFaults, AServerDyingMidMultipartFailsTheRunAndLeavesNothingHalfListed) {
  DyingServerCase c("rmf_required", true);
  auto &p = c.project;
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  std::string good = newest_set(p.backups());
  auto before = p.snapshot();
  std::chrono::steady_clock::duration took{};
  auto r = c.run_while_the_server_dies(took);
  EXPECT_EQ(r.exit_code, 1) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("remote 'offsite'"));
  EXPECT_THAT(r.all(), HasSubstr(std::string("s3://") + k_dying_bucket));
  EXPECT_THAT(r.all(), HasSubstr("attempts")) << "retries are bounded in count";
  EXPECT_LT(took, k_bound);
  EXPECT_THAT(r.all(), HasSubstr("gate prune --remote offsite")) << "the hint names the sweep";
  p.expect_intact(before, {PgServer::get().password(), c.s3.secret_access_key()});
  EXPECT_EQ(p.snapshot().record, before.record);
  std::string cut = newest_set(p.backups());
  ASSERT_NE(cut, good);
  EXPECT_THAT(c.remote_list(), HasSubstr("\"" + good + "\""));
  EXPECT_THAT(c.remote_list(), Not(HasSubstr("\"" + cut + "\"")));
  EXPECT_THAT(c.objects_of(cut), Not(HasSubstr("manifest.json")));
  // The dead server could not take the abort: the upload of part 1 is still
  // there. Aged by a day, the next run's sweep aborts it.
  ASSERT_THAT(c.multipart_uploads(), HasSubstr(cut)) << "the fault comes after part 1";
  auto aged =
      sh("touch -d '2 days ago' ._S3rver_uploads/*", c.s3.data_dir() / "data" / k_dying_bucket);
  ASSERT_EQ(aged.exit_code, 0) << aged.all();
  auto next = p.gate({"run"});
  ASSERT_EQ(next.exit_code, 0) << next.all();
  std::string newest = newest_set(p.backups());
  EXPECT_THAT(c.remote_list(), HasSubstr("\"" + newest + "\""));
  EXPECT_THAT(c.objects_of(newest), HasSubstr("manifest.json"));
  EXPECT_THAT(read_file(p.record()), HasSubstr(newest));
  EXPECT_THAT(c.multipart_uploads(), Not(HasSubstr(cut)));
}

TEST(RemoteFaults, AnOptionalRemoteDyingMidMultipartIsAWarningAndTheSetIsRecorded) {
  DyingServerCase c("rmf_optional", false);
  auto &p = c.project;
  ASSERT_EQ(p.gate({"run"}).exit_code, 0);
  std::string good = newest_set(p.backups());
  std::chrono::steady_clock::duration took{};
  auto r = c.run_while_the_server_dies(took);
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.all(), HasSubstr("remote 'offsite' failed"));
  EXPECT_THAT(r.all(), HasSubstr("required: false"));
  EXPECT_LT(took, k_bound);
  std::string cut = newest_set(p.backups());
  ASSERT_NE(cut, good);
  EXPECT_EQ(recorded_id(read_file(p.record())), cut) << "the local set is recorded";
  auto check = sh("sha256sum -c --quiet checksums.sha256", p.backups() / cut);
  EXPECT_EQ(check.exit_code, 0) << check.all();
  EXPECT_THAT(c.remote_list(), Not(HasSubstr("\"" + cut + "\"")));
  EXPECT_THAT(c.objects_of(cut), Not(HasSubstr("manifest.json")));
  auto next = p.gate({"run"});
  ASSERT_EQ(next.exit_code, 0) << next.all();
  EXPECT_THAT(c.remote_list(), HasSubstr("\"" + newest_set(p.backups()) + "\""));
}
