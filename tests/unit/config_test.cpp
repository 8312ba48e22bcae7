// pipeline.yml parsing: every error carries file:line:col, unknown keys get a
// suggestion, ${VAR} comes from the environment, sizes and durations parse.
#include "config/pipeline.hpp"
#include "steps/registry.hpp"
#include "util/redact.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

using gate::config::parse_pipeline;
using ::testing::HasSubstr;

namespace {
std::string error_of(const std::string &yaml) {
  auto r = parse_pipeline(yaml, "pipeline.yml");
  EXPECT_FALSE(r.has_value());
  if (r) return {};
  EXPECT_EQ(r.error().kind, gate::util::ErrorKind::config);
  return r.error().message;
}
} // namespace

TEST(Config, AMinimalPipelineParsesWithDefaults) {
  auto r = parse_pipeline("version: 1\nvolumes:\n  - {name: data, path: /srv/data}\n",
                          "/etc/app/pipeline.yml");
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
  EXPECT_EQ(
      error_of("version: 1\nbackup_rot: /x\nvolumes: [{name: a, path: /x}]\n"),
      "pipeline.yml:2:1: unknown key 'backup_rot' in the pipeline (did you mean 'backup_root'?)");
  EXPECT_THAT(
      error_of(
          "version: 1\ndatabases:\n  - name: app\n    url: postgres://x\n    fromats: [sql]\n"),
      HasSubstr("pipeline.yml:5:5: unknown key 'fromats' in a database (did you mean 'formats'?)"));
}

TEST(Config, BadValuesNameTheirPlace) {
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - {name: data, path: /x, min_size: 12 parsecs}\n"),
              HasSubstr("pipeline.yml:3:38: invalid size '12 parsecs'"));
  EXPECT_THAT(error_of("version: 1\nlock_wait: soon\nvolumes: [{name: a, path: /x}]\n"),
              HasSubstr("pipeline.yml:2:12: invalid duration 'soon'"));
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - {name: data, path: /x, compression: zstdd}\n"),
              HasSubstr("did you mean 'zstd'?"));
  EXPECT_THAT(error_of("version: 2\nvolumes: [{name: a, path: /x}]\n"),
              HasSubstr("pipeline.yml:1:10: unsupported version 2"));
  EXPECT_THAT(error_of("version: 1\n"), HasSubstr("nothing to back up"));
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - {name: a, path: /x}\n  - {name: a, path: /y}\n"),
              HasSubstr("pipeline.yml:4:5: the name 'a' is used twice"));
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - {name: 'bad/name', path: /x}\n"),
              HasSubstr("invalid name 'bad/name'"));
  EXPECT_THAT(error_of("version: 1\nvolumes: [{name: a, path: /x}]\nretention: {keep_last: 0}\n"),
              HasSubstr("retention keeps nothing"));
  EXPECT_THAT(error_of("version: 1\nvolumes:\n  - name: a\n    path: [\n"),
              HasSubstr("pipeline.yml:"));
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
  EXPECT_THAT(
      error_of("version: 1\nvolumes: [{name: a, path: /x}]\nstages:\n  - {name: s, steps: []}\n"),
      HasSubstr("steps must be a non-empty list"));
}

TEST(Config, SecretsInUrlsAreMaskedEverywhereAfterParsing) {
  auto r = parse_pipeline(
      "version: 1\ndatabases:\n  - {name: app, url: 'postgresql://app:S3cretPw@db/app'}\n",
      "p.yml");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(gate::util::redact("failed for postgresql://app:S3cretPw@db/app"),
            "failed for postgresql://app:***@db/app");
}

TEST(Config, InvalidUtf8IsRejectedWithLineAndColumn) {
  EXPECT_EQ(error_of("version: 1\nproject: \"caf\xe9\"\nvolumes: [{name: a, path: /x}]\n"),
            "pipeline.yml:2:14: invalid UTF-8 (byte 0xe9): gate reads configuration as UTF-8; "
            "write the text in UTF-8");
  // An overlong encoding of '/' and a lone continuation byte are not UTF-8 either.
  EXPECT_THAT(error_of("version: 1\nvolumes: [{name: a, path: \"\xc0\xaf\"}]\n"),
              HasSubstr("pipeline.yml:2:28: invalid UTF-8 (byte 0xc0)"));
  EXPECT_THAT(error_of("version: 1\n# \x80\n"),
              HasSubstr("pipeline.yml:2:3: invalid UTF-8 (byte 0x80)"));
  auto ok = parse_pipeline(
      "version: 1\nproject: \"caf\xc3\xa9 \xf0\x9f\x9a\x80\"\nvolumes: [{name: a, path: /x}]\n",
      "p.yml");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->project, "caf\xc3\xa9 \xf0\x9f\x9a\x80");
}

TEST(Config, SizesAndDurationsParseStrictlyAndRejectOverflow) {
  const std::string vol = "version: 1\nvolumes:\n  - {name: a, path: /x, ";
  EXPECT_EQ(error_of(vol + "min_size: 1.5.5MiB}\n"),
            "pipeline.yml:3:35: invalid size '1.5.5MiB' (use e.g. 512B, 1KiB, 10MiB, 2GiB)");
  EXPECT_THAT(error_of(vol + "min_size: .5MiB}\n"), HasSubstr("invalid size '.5MiB'"));
  EXPECT_THAT(error_of(vol + "min_size: 1.MiB}\n"), HasSubstr("invalid size '1.MiB'"));
  EXPECT_THAT(error_of(vol + "min_size: 99999999999999999999}\n"),
              HasSubstr("pipeline.yml:3:35: size '99999999999999999999' is too large"));
  EXPECT_THAT(error_of(vol + "min_size: 17000000TiB}\n"),
              HasSubstr("size '17000000TiB' is too large"));
  EXPECT_EQ(
      error_of("version: 1\nlock_wait: 99999999999999999999h\nvolumes: [{name: a, path: /x}]\n"),
      "pipeline.yml:2:12: duration '99999999999999999999h' is too long (at most 576h, 24 days)");
  EXPECT_THAT(error_of("version: 1\nlock_wait: 1.5.5s\nvolumes: [{name: a, path: /x}]\n"),
              HasSubstr("pipeline.yml:2:12: invalid duration '1.5.5s'"));
  EXPECT_THAT(error_of("version: 1\nvolumes: [{name: a, path: /x}]\nalerts:\n  - {command: [cat], "
                       "timeout: 5124095576030431h}\n"),
              HasSubstr("pipeline.yml:4:31: duration '5124095576030431h' is too long"));
  auto r = parse_pipeline(
      "version: 1\nlock_wait: 576h\nvolumes:\n  - {name: a, path: /x, min_size: 1.5MiB}\n"
      "  - {name: b, path: /x, min_size: 18446744073709551615}\n",
      "p.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->lock_wait.count(), 576LL * 3600 * 1000);
  EXPECT_EQ(r->volumes[0].min_size, 1572864u);
  EXPECT_EQ(r->volumes[1].min_size, UINT64_MAX);
}

TEST(Config, DeeplyNestedYamlSaysSoWithItsPlace) {
  std::string deep =
      "version: 1\nproject: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  std::string message = error_of(deep);
  EXPECT_THAT(message, HasSubstr("pipeline.yml:2:"));
  EXPECT_THAT(message, HasSubstr("invalid YAML: nested too deeply"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("bad file")));
}

TEST(Config, UnknownKeysAreReportedBeforeMissingRequiredOnes) {
  EXPECT_EQ(error_of("version: 1\nvolumes:\n  - name: d\n    pth: /tmp\n"),
            "pipeline.yml:4:5: unknown key 'pth' in a volume (did you mean 'path'?)");
  EXPECT_EQ(error_of("version: 1\ndatabases:\n  - nmae: app\n    url: postgres://h/db\n"),
            "pipeline.yml:3:5: unknown key 'nmae' in a database (did you mean 'name'?)");
  EXPECT_EQ(error_of("verison: 1\nvolumes: [{name: a, path: /x}]\n"),
            "pipeline.yml:1:1: unknown key 'verison' in the pipeline (did you mean 'version'?)");
  EXPECT_EQ(
      error_of(
          "version: 1\nvolumes: [{name: a, path: /x}]\nalerts:\n  - {webhok: 'https://h/x'}\n"),
      "pipeline.yml:4:6: unknown key 'webhok' in an alert (did you mean 'webhook'?)");
  EXPECT_EQ(error_of("version: 1\nvolumes: [{name: a, path: /x}]\nstages:\n  - {name: s, step: "
                     "[{backup: a}]}\n"),
            "pipeline.yml:4:15: unknown key 'step' in a stage (did you mean 'steps'?)");
}

TEST(Config, UnsetVariablesInSecretsFailOnlyWhereTheValueIsUsed) {
  ::unsetenv("GATE_UNIT_DB_URL");
  ::unsetenv("GATE_UNIT_HOOK");
  auto r = parse_pipeline("version: 1\ndatabases:\n  - name: app\n    url: ${GATE_UNIT_DB_URL}\n"
                          "alerts:\n  - webhook: ${GATE_UNIT_HOOK}\n",
                          "pipeline.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto url = r->databases[0].url.value();
  ASSERT_FALSE(url.has_value());
  EXPECT_EQ(url.error().kind, gate::util::ErrorKind::config);
  EXPECT_EQ(url.error().message,
            "pipeline.yml:4:10: environment variable 'GATE_UNIT_DB_URL' is not set");
  EXPECT_EQ(r->alerts[0].webhook.value().error().message,
            "pipeline.yml:6:14: environment variable 'GATE_UNIT_HOOK' is not set");
  // A malformed reference is still an error of the file itself, and other values stay eager.
  EXPECT_THAT(error_of("version: 1\ndatabases:\n  - {name: app, url: '${GATE_UNIT_DB_URL'}\n"),
              HasSubstr("unterminated"));
  EXPECT_THAT(
      error_of("version: 1\nbackup_root: ${GATE_UNIT_DB_URL}\nvolumes: [{name: a, path: /x}]\n"),
      HasSubstr("pipeline.yml:2:14: environment variable 'GATE_UNIT_DB_URL' is not set"));
  ::setenv("GATE_UNIT_DB_URL", "postgresql://u:Pw0rdX@h/db", 1);
  auto set = parse_pipeline("version: 1\ndatabases:\n  - {name: app, url: '${GATE_UNIT_DB_URL}'}\n",
                            "p.yml");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(*set->databases[0].url.value(), "postgresql://u:Pw0rdX@h/db");
  EXPECT_EQ(gate::util::redact("x Pw0rdX y"), "x *** y");
  ::unsetenv("GATE_UNIT_DB_URL");
}

TEST(Config, GitDirDefaultsToThePipelineFilesDirectory) {
  auto r = parse_pipeline("version: 1\nvolumes: [{name: a, path: /x}]\n",
                          "/srv/app/deploy/pipeline.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->git_dir, "/srv/app/deploy");
  auto set = parse_pipeline("version: 1\ngit_dir: ..\nvolumes: [{name: a, path: /x}]\n",
                            "/srv/app/deploy/pipeline.yml");
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->git_dir, std::filesystem::path("/srv/app/"));
}

TEST(Config, StepsReportUnknownKeysBeforeMissingRequiredOnes) {
  auto r = parse_pipeline(
      "version: 1\ndatabases: [{name: app, url: 'postgresql://h/db'}]\nstages:\n  - name: s\n"
      "    steps:\n      - {check: sql, database: app, qeury: 'SELECT 1', expect: '1'}\n"
      "      - {exec: [true], tiemout: 5s}\n",
      "pipeline.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto check = gate::steps::make_steps(r->stages[0].steps[0], *r);
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().message,
            "pipeline.yml:6:37: unknown key 'qeury' in a check step (did you mean 'query'?)");
  auto exec = gate::steps::make_steps(r->stages[0].steps[1], *r);
  ASSERT_FALSE(exec.has_value());
  EXPECT_EQ(exec.error().message,
            "pipeline.yml:7:24: unknown key 'tiemout' in an exec step (did you mean 'timeout'?)");
}
