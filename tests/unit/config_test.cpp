// pipeline.yml parsing: every error carries file:line:col, unknown keys get a
// suggestion, ${VAR} comes from the environment, sizes and durations parse.
#include "config/pipeline.hpp"
#include "util/redact.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

using gate::config::parse_pipeline;
using ::testing::HasSubstr;

namespace {
std::string error_of(const std::string& yaml) {
  auto r = parse_pipeline(yaml, "pipeline.yml");
  EXPECT_FALSE(r.has_value());
  if (r) return {};
  EXPECT_EQ(r.error().kind, gate::util::ErrorKind::config);
  return r.error().message;
}
} // namespace

TEST(Config, AMinimalPipelineParsesWithDefaults) {
  auto r = parse_pipeline("version: 1\nvolumes:\n  - {name: data, path: /srv/data}\n", "/etc/app/pipeline.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->backup_root, "/etc/app/backups");
  EXPECT_EQ(r->record, "/etc/app/.last-deployment-backup");
  EXPECT_EQ(r->volumes.at(0).min_size, 512u);
  EXPECT_EQ(r->volumes.at(0).compression, gate::config::Compression::zstd);
  EXPECT_TRUE(r->stages.empty());
  EXPECT_EQ(r->space_factor, 2.0);
  EXPECT_EQ(r->lock_wait.count(), 0);
}

TEST(Config, UnknownKeysAreErrorsWithLineColumnAndASuggestion) {
  EXPECT_EQ(error_of("version: 1\nvolumes:\n  - name: data\n    path: /x\n    compresion: gzip\n"),
            "pipeline.yml:5:5: unknown key 'compresion' in a volume (did you mean 'compression'?)");
  EXPECT_EQ(error_of("version: 1\nbackup_rot: /x\nvolumes: [{name: a, path: /x}]\n"),
            "pipeline.yml:2:1: unknown key 'backup_rot' in the pipeline (did you mean 'backup_root'?)");
  EXPECT_THAT(error_of("version: 1\ndatabases:\n  - name: app\n    url: postgres://x\n    fromats: [sql]\n"),
              HasSubstr("pipeline.yml:5:5: unknown key 'fromats' in a database (did you mean 'formats'?)"));
}

TEST(Config, BadValuesNameTheirPlace) {
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - {name: data, path: /x, min_size: 12 parsecs}\n"),
              HasSubstr("pipeline.yml:3:38: invalid size '12 parsecs'"));
  EXPECT_THAT(error_of("version: 1\nlock_wait: soon\nvolumes: [{name: a, path: /x}]\n"),
              HasSubstr("pipeline.yml:2:12: invalid duration 'soon'"));
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - {name: data, path: /x, compression: zstdd}\n"),
              HasSubstr("did you mean 'zstd'?"));
  EXPECT_THAT(error_of("version: 2\nvolumes: [{name: a, path: /x}]\n"), HasSubstr("pipeline.yml:1:10: unsupported version 2"));
  EXPECT_THAT(error_of("version: 1\n"), HasSubstr("nothing to back up"));
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - {name: a, path: /x}\n  - {name: a, path: /y}\n"),
              HasSubstr("pipeline.yml:4:5: the name 'a' is used twice"));
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - {name: 'bad/name', path: /x}\n"), HasSubstr("invalid name 'bad/name'"));
  EXPECT_THAT(error_of("version: 1\nvolumes: [{name: a, path: /x}]\nretention: {keep_last: 0}\n"),
              HasSubstr("retention keeps nothing"));
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - name: a\n    path: [\n"), HasSubstr("pipeline.yml:"));
}

TEST(Config, EnvironmentVariablesAreInterpolated) {
  ::setenv("GATE_UNIT_DIR", "/srv/uploads", 1);
  ::unsetenv("GATE_UNIT_MISSING");
  auto r = parse_pipeline("version: 1\nvolumes:\n  - {name: a, path: '${GATE_UNIT_DIR}/x'}\n"
                          "  - {name: b, path: '${GATE_UNIT_MISSING:-/fallback}'}\n",
                          "p.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->volumes[0].path, "/srv/uploads/x");
  EXPECT_EQ(r->volumes[1].path, "/fallback");
  EXPECT_EQ(error_of("version: 1\nvolumes:\n  - {name: a, path: '${GATE_UNIT_MISSING}'}\n"),
            "pipeline.yml:3:21: environment variable 'GATE_UNIT_MISSING' is not set");
  auto literal = gate::config::interpolate_env("cost: $$5 and $HOME-ish");
  ASSERT_TRUE(literal.has_value());
  EXPECT_EQ(*literal, "cost: $5 and $HOME-ish");
}

TEST(Config, SizesDurationsAndPercentages) {
  auto r = parse_pipeline(R"(version: 1
lock_wait: 5m
databases:
  - {name: app, url: "postgresql://u@h/db", min_size: 10MiB, max_shrink: 20%, connect_timeout: 500ms}
volumes:
  - {name: a, path: /x, min_size: 512B}
  - {name: b, path: /x, min_size: 1KiB}
  - {name: c, path: /x, min_size: 1kB}
)",
                          "p.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->lock_wait.count(), 300000);
  EXPECT_EQ(r->databases[0].min_size, 10u * 1024 * 1024);
  EXPECT_DOUBLE_EQ(*r->databases[0].max_shrink, 0.2);
  EXPECT_EQ(r->databases[0].connect_timeout.count(), 500);
  EXPECT_EQ(r->volumes[0].min_size, 512u);
  EXPECT_EQ(r->volumes[1].min_size, 1024u);
  EXPECT_EQ(r->volumes[2].min_size, 1000u);
}

TEST(Config, StagesKeepTheirStepsInOrder) {
  auto r = parse_pipeline(R"(version: 1
volumes: [{name: a, path: /x}]
stages:
  - name: backup
    parallel: true
    steps: [{backup: a}]
  - name: verify
    steps: [{verify: all, deep: true}]
)",
                          "p.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->stages.size(), 2u);
  EXPECT_EQ(r->stages[0].name, "backup");
  EXPECT_TRUE(r->stages[0].parallel);
  EXPECT_EQ(r->stages[1].steps.size(), 1u);
  EXPECT_THAT(error_of("version: 1\nvolumes: [{name: a, path: /x}]\nstages:\n  - {name: s, steps: []}\n"),
              HasSubstr("steps must be a non-empty list"));
}

TEST(Config, SecretsInUrlsAreMaskedEverywhereAfterParsing) {
  auto r = parse_pipeline("version: 1\ndatabases:\n  - {name: app, url: 'postgresql://app:S3cretPw@db/app'}\n", "p.yml");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(gate::util::redact("failed for postgresql://app:S3cretPw@db/app"), "failed for postgresql://app:***@db/app");
}
