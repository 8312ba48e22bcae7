// `remotes:` in pipeline.yml: defaults, every key, strictness with
// file:line:col, and the key pair as a lazy secret.
#include "config/pipeline.hpp"
#include "config/remotes.hpp"
#include "util/redact.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using gate::config::parse_pipeline;
using gate::config::RemoteConfig;
using ::testing::HasSubstr;

namespace {

const std::string k_head = "version: 1\nvolumes: [{name: files, path: /srv/files}]\nremotes:\n";

gate::util::Result<gate::config::PipelineConfig> parse(const std::string &remotes) {
  return parse_pipeline(k_head + remotes, "/etc/app/pipeline.yml");
}

std::string error_of(const std::string &remotes) {
  auto r = parse(remotes);
  EXPECT_FALSE(r.has_value());
  if (r) return {};
  EXPECT_EQ(r.error().kind, gate::util::ErrorKind::config);
  return r.error().message;
}

gate::util::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string &name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

} // namespace

TEST(RemotesConfig, AMinimalRemoteGetsTheDefaults) {
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  auto c = parse("  - name: offsite\n    url: s3://my-backups/hosts/web-1/\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->remotes.size(), 1u);
  const RemoteConfig &r = c->remotes[0];
  EXPECT_EQ(r.name, "offsite");
  EXPECT_EQ(r.bucket, "my-backups");
  EXPECT_EQ(r.prefix, "hosts/web-1");
  EXPECT_EQ(r.endpoint, "");
  EXPECT_EQ(r.region, "us-east-1");
  EXPECT_EQ(r.url_style, gate::util::S3UrlStyle::automatic);
  EXPECT_FALSE(r.part_size);
  EXPECT_EQ(r.max_parts, 10000u);
  EXPECT_TRUE(r.required);
  EXPECT_FALSE(r.retention);
  EXPECT_EQ(r.timeout, std::chrono::seconds(60));
  EXPECT_FALSE(r.access_key_id);
  EXPECT_EQ(gate::config::remote_key(r, "20261201_120000-ab/manifest.json"),
            "hosts/web-1/20261201_120000-ab/manifest.json");
  EXPECT_EQ(c->find_remote("offsite"), &c->remotes[0]);
  EXPECT_EQ(c->find_remote("other"), nullptr);
}

TEST(RemotesConfig, TheRegionDefaultsToAwsRegion) {
  auto node = gate::config::Node::parse("- {name: a, url: s3://bucket}\n", "p.yml");
  ASSERT_TRUE(node);
  auto r = gate::config::parse_remotes(*node, "/", env_of({{"AWS_REGION", "eu-west-3"}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->at(0).region, "eu-west-3");
  EXPECT_EQ(r->at(0).prefix, "");
  EXPECT_EQ(gate::config::remote_key(r->at(0), "x/manifest.json"), "x/manifest.json");
}

TEST(RemotesConfig, EveryKeyIsRead) {
  auto c = parse("  - name: minio\n    url: s3://bkt/p\n    endpoint: https://minio.internal:9000\n"
                 "    region: garage\n    url_style: path\n    part_size: 64MiB\n"
                 "    max_parts: 1000\n    required: false\n    retention: {keep_last: 3}\n"
                 "    storage_class: STANDARD_IA\n    ca_file: certs/ca.pem\n    timeout: 90s\n"
                 "    access_key_id: AKEXAMPLE\n    secret_access_key: very-Secr3t\n");
  ASSERT_TRUE(c) << c.error().message;
  const RemoteConfig &r = c->remotes.at(0);
  EXPECT_EQ(r.endpoint, "https://minio.internal:9000");
  EXPECT_EQ(r.region, "garage");
  EXPECT_EQ(r.url_style, gate::util::S3UrlStyle::path);
  EXPECT_EQ(r.part_size, 64u * 1024 * 1024);
  EXPECT_EQ(r.max_parts, 1000u);
  EXPECT_FALSE(r.required);
  ASSERT_TRUE(r.retention);
  EXPECT_EQ(r.retention->keep_last, 3);
  EXPECT_EQ(r.storage_class, "STANDARD_IA");
  EXPECT_EQ(r.ca_file, "/etc/app/certs/ca.pem");
  EXPECT_EQ(r.timeout, std::chrono::seconds(90));
  EXPECT_EQ(gate::util::redact("key very-Secr3t"), "key ***");
  auto options = gate::config::s3_client_options(r);
  EXPECT_EQ(options.remote, "minio");
  EXPECT_EQ(options.bucket, "bkt");
  EXPECT_EQ(options.part_size, r.part_size);
  EXPECT_EQ(options.max_parts, 1000u);
  auto keys = gate::config::remote_credentials(r, env_of({}));
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ(keys->access_key_id, "AKEXAMPLE");
  EXPECT_EQ(keys->secret_access_key, "very-Secr3t");
}

TEST(RemotesConfig, UnknownKeysAndBadValuesNameTheirPlace) {
  EXPECT_EQ(error_of("  - name: a\n    url: s3://bucket\n    regoin: eu-west-1\n"),
            "/etc/app/pipeline.yml:6:5: unknown key 'regoin' in a remote (did you mean 'region'?)");
  EXPECT_THAT(error_of("  - name: a\n    url: https://bucket\n"),
              HasSubstr("pipeline.yml:5:10: remote 'a': url must be s3://BUCKET/PREFIX"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://Bad_Bucket!\n"),
              HasSubstr("pipeline.yml:5:10: remote 'a': invalid bucket name"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket/a//b\n"),
              HasSubstr("has an empty, '.' or '..' segment"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    part_size: 4MiB\n"),
              HasSubstr("pipeline.yml:6:16: part_size must be between 5MiB and 5GiB"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    part_size: 6GiB\n"),
              HasSubstr("part_size must be between 5MiB and 5GiB"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    part_size: 5 furlongs\n"),
              HasSubstr("pipeline.yml:6:16: invalid size"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    max_parts: 20000\n"),
              HasSubstr("pipeline.yml:6:16:"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    url_style: virtal\n"),
              HasSubstr("invalid url_style 'virtal' (expected auto, path, virtual); did you mean "
                        "'virtual'?"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    endpoint: minio:9000\n"),
              HasSubstr("pipeline.yml:6:15: remote 'a': endpoint must be http(s)://HOST[:PORT]"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    endpoint: http://h/path\n"),
              HasSubstr("(no path)"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    retention: {keep_last: 0}\n"),
              HasSubstr("retention keeps nothing"));
  EXPECT_THAT(error_of("  - name: a\n    url: s3://bucket\n    access_key_id: AK\n"),
              HasSubstr("give access_key_id and secret_access_key together"));
  EXPECT_THAT(error_of("  - {name: a, url: s3://bucket}\n  - {name: a, url: s3://other}\n"),
              HasSubstr("pipeline.yml:5:5: the remote name 'a' is used twice"));
  EXPECT_THAT(error_of("  - url: s3://bucket\n"), HasSubstr("'name'"));
  EXPECT_THAT(error_of("  name: a\n"), HasSubstr("remotes must be a list"));
}

TEST(RemotesConfig, KeysFromUnsetVariablesFailOnlyWhenUsed) {
  ::unsetenv("GATE_TEST_UNSET_S3_SECRET");
  ::setenv("GATE_TEST_S3_KEY_ID", "AKFROMENV", 1);
  auto c = parse("  - name: a\n    url: s3://bucket\n    access_key_id: ${GATE_TEST_S3_KEY_ID}\n"
                 "    secret_access_key: ${GATE_TEST_UNSET_S3_SECRET}\n");
  ASSERT_TRUE(c) << c.error().message;
  auto keys = gate::config::remote_credentials(c->remotes.at(0), env_of({}));
  ASSERT_FALSE(keys);
  EXPECT_EQ(keys.error().kind, gate::util::ErrorKind::config);
  EXPECT_THAT(keys.error().message, HasSubstr("pipeline.yml:7:24"));
  EXPECT_THAT(keys.error().message, HasSubstr("GATE_TEST_UNSET_S3_SECRET"));
  ::unsetenv("GATE_TEST_S3_KEY_ID");
}
