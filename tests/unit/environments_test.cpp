// `environments:`: the merge rules (mappings deeply, databases/volumes/stages
// by name, lists replaced, enabled: false removes), the choice (--env,
// GATE_ENV, none, unknown), {project}/{environment} placeholders, and errors
// that point at the line of the override or of the base.
#include "cli/multi_project.hpp"
#include "config/environments.hpp"
#include "config/pipeline.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

using gate::config::EnvironmentRequest;
using gate::config::parse_pipeline;
using gate::config::PipelineConfig;
using gate::util::ErrorKind;
using ::testing::HasSubstr;

namespace {

// Lines numbered for the error locations the tests expect.
const char *k_base = R"(version: 1
project: shop
backup_root: /opt/backups/{project}/{environment}
record: /srv/shop/.last-deployment-backup-{environment}
retention: {keep_last: 3, keep_daily: 7}
databases:
  - name: app
    url: postgresql://app@db/app
    formats: [custom, sql]
    min_size: 1KiB
  - name: audit
    url: postgresql://app@db/audit
volumes:
  - {name: uploads, path: /srv/uploads}
  - {name: reports, path: /srv/reports, enabled: false}
environments:
  staging:
    databases:
      - {name: app, url: postgresql://app@staging-db/app}
      - {name: audit, enabled: false}
  production:
    retention: {keep_daily: 30}
    databases:
      - name: app
        formats: [custom]
    volumes:
      - {name: reports, enabled: true}
)";

std::optional<EnvironmentRequest> env(const std::string &name) {
  return EnvironmentRequest{name, "--env"};
}

PipelineConfig parsed(const std::string &yaml, const std::string &name) {
  auto r = parse_pipeline(yaml, "pipeline.yml", env(name));
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r ? *r : PipelineConfig{};
}

gate::util::Error error_of(const std::string &yaml, std::optional<EnvironmentRequest> chosen) {
  auto r = parse_pipeline(yaml, "pipeline.yml", chosen);
  EXPECT_FALSE(r.has_value());
  return r ? gate::util::Error{} : r.error();
}

} // namespace

TEST(Environments, TheChosenOverridesMergeIntoTheBase) {
  PipelineConfig staging = parsed(k_base, "staging");
  EXPECT_EQ(staging.environment, "staging");
  EXPECT_EQ(staging.backup_root, "/opt/backups/shop/staging");
  EXPECT_EQ(staging.record, "/srv/shop/.last-deployment-backup-staging");
  ASSERT_EQ(staging.databases.size(), 1u); // audit removed by enabled: false
  EXPECT_EQ(staging.databases[0].url.value_or_empty(), "postgresql://app@staging-db/app");
  EXPECT_EQ(staging.databases[0].formats.size(), 2u); // untouched keys stay
  EXPECT_EQ(staging.databases[0].min_size, 1024u);
  ASSERT_EQ(staging.volumes.size(), 1u); // reports stays disabled
  EXPECT_EQ(staging.volumes[0].name, "uploads");

  PipelineConfig production = parsed(k_base, "production");
  EXPECT_EQ(production.backup_root, "/opt/backups/shop/production");
  ASSERT_EQ(production.databases.size(), 2u);
  EXPECT_EQ(production.databases[0].url.value_or_empty(), "postgresql://app@db/app");
  ASSERT_EQ(production.databases[0].formats.size(), 1u); // a list is replaced, not appended
  EXPECT_EQ(production.databases[0].formats[0], gate::config::DumpFormat::custom);
  // Mappings merge deeply: keep_last from the base, keep_daily from the override.
  ASSERT_TRUE(production.retention.has_value());
  EXPECT_EQ(production.retention->keep_last, 3);
  EXPECT_EQ(production.retention->keep_daily, 30);
  ASSERT_EQ(production.volumes.size(), 2u); // enabled: true brings reports in
  EXPECT_EQ(production.volumes[1].name, "reports");
  EXPECT_EQ(production.volumes[1].path, "/srv/reports");
}

TEST(Environments, NoChoiceOrAnUnknownOneIsAUsageErrorListingTheChoices) {
  auto none = error_of(k_base, std::nullopt);
  EXPECT_EQ(none.kind, ErrorKind::usage);
  EXPECT_EQ(gate::util::exit_code_for(none.kind), 2);
  EXPECT_EQ(none.message, "pipeline.yml:16:1: this pipeline defines the environments staging, "
                          "production: choose one with --env NAME or GATE_ENV=NAME");
  auto unknown = error_of(k_base, env("prod"));
  EXPECT_EQ(unknown.kind, ErrorKind::usage);
  EXPECT_THAT(unknown.message, HasSubstr("pipeline.yml:16:1: unknown environment 'prod' (from "
                                         "--env); did you mean 'production'?"));
  EXPECT_THAT(unknown.message, HasSubstr("the environments are: staging, production"));
}

TEST(Environments, GateEnvIsTheChoiceWhenNoFlagIsGiven) {
  ::setenv("GATE_ENV", "staging", 1);
  auto from_env = gate::config::requested_environment("");
  auto from_flag = gate::config::requested_environment("production");
  ::unsetenv("GATE_ENV");
  ASSERT_TRUE(from_env.has_value());
  EXPECT_EQ(from_env->name, "staging");
  EXPECT_EQ(from_env->source, "GATE_ENV");
  ASSERT_TRUE(from_flag.has_value());
  EXPECT_EQ(from_flag->name, "production");
  EXPECT_FALSE(gate::config::requested_environment("").has_value());
}

TEST(Environments, ErrorsPointAtTheOverrideOrTheBase) {
  // A bad value in the override: the override's line.
  std::string bad_override = std::string(k_base) + "  qa:\n    databases:\n"
                                                   "      - {name: app, jobs: 0}\n";
  auto e1 = error_of(bad_override, env("qa"));
  EXPECT_EQ(e1.kind, ErrorKind::config);
  EXPECT_THAT(e1.message, HasSubstr("pipeline.yml:30:27: value 0 is out of range 1..64"));
  // A bad value in the base shows in an environment that does not override it.
  std::string bad_base = k_base;
  bad_base.replace(bad_base.find("min_size: 1KiB"), 14, "min_size: 1KB!");
  auto e2 = error_of(bad_base, env("production"));
  EXPECT_THAT(e2.message, HasSubstr("pipeline.yml:10:15: invalid size '1KB!'"));
  // A typo in an override's key: its own line, with a suggestion.
  std::string typo = std::string(k_base) + "  qa:\n    retention: {keep_dialy: 2}\n";
  EXPECT_THAT(error_of(typo, env("qa")).message,
              HasSubstr("pipeline.yml:29:17: unknown key 'keep_dialy' in retention (did you mean "
                        "'keep_daily'?)"));
}

TEST(Environments, AnOverrideOfATargetThatDoesNotExistIsAnError) {
  std::string yaml = std::string(k_base) + "  qa:\n    databases:\n      - {name: ap, jobs: 4}\n";
  auto e = error_of(yaml, env("staging")); // reported whichever environment is chosen
  EXPECT_EQ(e.kind, ErrorKind::config);
  EXPECT_THAT(e.message, HasSubstr("pipeline.yml:30:16: environment 'qa': there is no database "
                                   "'ap' to change (did you mean 'app'?)"));
  EXPECT_THAT(e.message, HasSubstr("enabled: false"));
  std::string nameless = std::string(k_base) + "  qa:\n    volumes:\n      - {path: /x}\n";
  EXPECT_THAT(error_of(nameless, env("qa")).message,
              HasSubstr("pipeline.yml:30:9: environment 'qa': an entry of volumes is a mapping "
                        "naming the volume it changes"));
}

TEST(Environments, FixedKeysAndSharedPathsAreRejected) {
  std::string version = std::string(k_base) + "  qa:\n    version: 2\n";
  EXPECT_THAT(error_of(version, env("qa")).message,
              HasSubstr("pipeline.yml:29:5: environment 'qa': 'version' cannot be set per "
                        "environment"));
  std::string both = "environment: production\n" + std::string(k_base);
  EXPECT_THAT(error_of(both, env("staging")).message,
              HasSubstr("pipeline.yml:1:1: 'environment' and 'environments' do not go together"));
  std::string shared = k_base;
  shared.replace(shared.find("/{environment}"), 14, "");
  auto e = error_of(shared, env("staging"));
  EXPECT_EQ(e.kind, ErrorKind::config);
  EXPECT_THAT(e.message, HasSubstr("pipeline.yml:3:14: environments 'staging' and 'production' "
                                   "share backup_root '/opt/backups/{project}'"));
  std::string no_record = k_base;
  no_record.erase(no_record.find("record:"),
                  no_record.find("retention:") - no_record.find("record:"));
  EXPECT_THAT(error_of(no_record, env("staging")).message, HasSubstr("share the default record"));
}

TEST(Environments, EnabledFalseWorksWithoutEnvironmentsAndIsValidated) {
  auto r = parse_pipeline("version: 1\nvolumes:\n  - {name: a, path: /a}\n"
                          "  - {name: b, path: /b, enabled: no}\n",
                          "pipeline.yml");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->volumes.size(), 1u);
  EXPECT_EQ(r->volumes[0].name, "a");
  auto bad = parse_pipeline("version: 1\nvolumes:\n  - {name: a, path: /a, enabled: maybe}\n",
                            "pipeline.yml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "pipeline.yml:3:34: expected true or false, got 'maybe'");
  auto nothing = parse_pipeline("version: 1\nvolumes:\n  - {name: a, path: /a, enabled: false}\n",
                                "pipeline.yml");
  ASSERT_FALSE(nothing.has_value());
  EXPECT_THAT(nothing.error().message, HasSubstr("nothing to back up"));
}

TEST(Environments, AChoiceForAFileWithoutEnvironmentsMustBeItsOwn) {
  const char *plain = "version: 1\nenvironment: production\nvolumes: [{name: a, path: /a}]\n";
  auto same = parse_pipeline(plain, "pipeline.yml", env("production"));
  ASSERT_TRUE(same.has_value()) << same.error().message;
  EXPECT_EQ(same->environment, "production");
  auto other = parse_pipeline(plain, "pipeline.yml", EnvironmentRequest{"staging", "GATE_ENV"});
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().kind, ErrorKind::usage);
  EXPECT_THAT(other.error().message,
              HasSubstr("pipeline.yml: GATE_ENV asks for environment 'staging', but this pipeline "
                        "defines no 'environments:' (its environment is 'production')"));
}

TEST(Environments, PlaceholdersAreCheckedAndFilled) {
  auto ok = parse_pipeline("version: 1\nproject: shop\nenvironment: qa\n"
                           "backup_root: /b/{project}/{environment}/{{x}}\n"
                           "volumes: [{name: a, path: /a}]\n",
                           "pipeline.yml");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->backup_root, "/b/shop/qa/{x}");
  auto typo = parse_pipeline("version: 1\nproject: shop\nenvironment: qa\n"
                             "backup_root: /b/{enviroment}\nvolumes: [{name: a, path: /a}]\n",
                             "pipeline.yml");
  ASSERT_FALSE(typo.has_value());
  EXPECT_EQ(typo.error().kind, ErrorKind::config);
  EXPECT_THAT(typo.error().message, HasSubstr("pipeline.yml:4:14: unknown placeholder "
                                              "'{enviroment}' (did you mean '{environment}'?)"));
  auto no_project = parse_pipeline(
      "version: 1\nrecord: ./{project}.json\nvolumes: [{name: a, path: /a}]\n", "pipeline.yml");
  ASSERT_FALSE(no_project.has_value());
  EXPECT_THAT(no_project.error().message,
              HasSubstr("pipeline.yml:2:9: this path uses {project}, but 'project' is not set"));
  auto slash = parse_pipeline(
      "version: 1\nproject: a/b\nbackup_root: /b/{project}\nvolumes: [{name: a, path: /a}]\n",
      "pipeline.yml");
  ASSERT_FALSE(slash.has_value());
  EXPECT_THAT(slash.error().message, HasSubstr("not a single directory name"));
}

TEST(Environments, MalformedBlocksAreErrors) {
  const char *head = "version: 1\nvolumes: [{name: a, path: /a}]\n";
  EXPECT_THAT(error_of(std::string(head) + "environments: [staging]\n", env("staging")).message,
              HasSubstr("pipeline.yml:3:15: environments must be a mapping"));
  EXPECT_THAT(error_of(std::string(head) + "environments:\n  '../x': {}\n", env("../x")).message,
              HasSubstr("pipeline.yml:4:3: invalid environment name '../x'"));
  EXPECT_THAT(error_of(std::string(head) + "environments:\n  qa: [1]\n", env("qa")).message,
              HasSubstr("pipeline.yml:4:7: environment 'qa' must be a mapping"));
}

// --config-dir's exit code is the most severe of the projects' (cli/multi_project).
TEST(MultiProject, TheWorstExitCodeFollowsTheSeverityOrder) {
  using gate::cli::more_severe;
  auto code = [](ErrorKind k) { return gate::util::exit_code_for(k); };
  EXPECT_EQ(more_severe(0, code(ErrorKind::lock_busy)), code(ErrorKind::lock_busy));
  EXPECT_EQ(more_severe(code(ErrorKind::lock_busy), code(ErrorKind::failed)),
            code(ErrorKind::failed));
  EXPECT_EQ(more_severe(code(ErrorKind::config), code(ErrorKind::failed)), code(ErrorKind::config));
  EXPECT_EQ(more_severe(code(ErrorKind::rollback_failed), code(ErrorKind::config)),
            code(ErrorKind::rollback_failed));
  EXPECT_EQ(more_severe(code(ErrorKind::rollback_failed), code(ErrorKind::interrupted)),
            code(ErrorKind::interrupted));
  EXPECT_EQ(more_severe(127, 0), 127); // a crash or a missing binary is at least a failure
  EXPECT_EQ(more_severe(code(ErrorKind::failed), 127), code(ErrorKind::failed));
  EXPECT_EQ(more_severe(0, 0), 0);
}
