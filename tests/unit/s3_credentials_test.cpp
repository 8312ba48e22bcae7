// Where an S3 key pair comes from (the AWS conventions), in order, and what
// the error says when there is none. No secret ever appears in a message.
#include "util/redact.hpp"
#include "util/s3_credentials.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

using gate::util::ExplicitS3Keys;
using gate::util::resolve_s3_credentials;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

namespace fs = std::filesystem;

class S3Credentials : public ::testing::Test {
protected:
  S3Credentials() {
    std::string tmpl = (fs::temp_directory_path() / "gate-cred-XXXXXX").string();
    m_home = ::mkdtemp(tmpl.data());
    fs::create_directories(m_home / ".aws");
    m_vars["HOME"] = m_home.string();
  }
  ~S3Credentials() override { fs::remove_all(m_home); }

  gate::util::EnvLookup env() const {
    return [vars = m_vars](const std::string &name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
  void write(const fs::path &path, const std::string &text) { std::ofstream(path) << text; }

  fs::path m_home;
  std::map<std::string, std::string> m_vars;
};

} // namespace

TEST_F(S3Credentials, ExplicitKeysComeFirst) {
  m_vars["AWS_ACCESS_KEY_ID"] = "AKENV";
  m_vars["AWS_SECRET_ACCESS_KEY"] = "env-secret-1";
  ExplicitS3Keys keys{"AKCONF", "conf-Secr3t-1", std::nullopt};
  auto c = resolve_s3_credentials("offsite", keys, env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKCONF");
  EXPECT_EQ(c->secret_access_key, "conf-Secr3t-1");
  EXPECT_EQ(gate::util::redact("x conf-Secr3t-1 y"), "x *** y");
}

TEST_F(S3Credentials, TheEnvironmentComesBeforeTheFiles) {
  write(m_home / ".aws" / "credentials", "[default]\naws_access_key_id = AKFILE\n"
                                         "aws_secret_access_key = file-secret\n");
  m_vars["AWS_ACCESS_KEY_ID"] = "AKENV";
  m_vars["AWS_SECRET_ACCESS_KEY"] = "env-Secr3t-2";
  m_vars["AWS_SESSION_TOKEN"] = "session-T0ken-2";
  auto c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKENV");
  EXPECT_EQ(c->session_token, "session-T0ken-2");
  EXPECT_EQ(gate::util::redact("session-T0ken-2"), "***");
}

TEST_F(S3Credentials, AProfileIsReadFromTheCredentialsThenTheConfigFile) {
  write(m_home / ".aws" / "credentials",
        "# comment\n[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = d-secret\n"
        "\n[backup]\naws_access_key_id=AKBACKUP\naws_secret_access_key=  b-Secr3t  \n");
  auto c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKDEFAULT");
  m_vars["AWS_PROFILE"] = "backup";
  c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKBACKUP");
  EXPECT_EQ(c->secret_access_key, "b-Secr3t");
  // In the config file a named profile's section is [profile NAME].
  m_vars["AWS_PROFILE"] = "ci";
  write(m_home / ".aws" / "config",
        "[profile ci]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 4\n"
        "aws_access_key_id = AKCI\naws_secret_access_key = ci-secret\n");
  c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKCI");
}

TEST_F(S3Credentials, TheFilesCanBeMovedByVariables) {
  write(m_home / "creds.ini", "[default]\naws_access_key_id = AKMOVED\n"
                              "aws_secret_access_key = moved-secret\n");
  m_vars["AWS_SHARED_CREDENTIALS_FILE"] = (m_home / "creds.ini").string();
  auto c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKMOVED");
}

TEST_F(S3Credentials, NoneFoundSaysWhereItLooked) {
  write(m_home / ".aws" / "credentials", "[other]\naws_access_key_id = AK\n"
                                         "aws_secret_access_key = other-Secr3t\n");
  auto c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_FALSE(c);
  const std::string &m = c.error().message;
  EXPECT_THAT(m, HasSubstr("no credentials for remote 'offsite'"));
  EXPECT_THAT(m, HasSubstr("access_key_id/secret_access_key in the remote (not set)"));
  EXPECT_THAT(m, HasSubstr("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)"));
  EXPECT_THAT(m, HasSubstr((m_home / ".aws" / "credentials").string() +
                           " [default] (no section [default])"));
  EXPECT_THAT(m, HasSubstr((m_home / ".aws" / "config").string() + " [default] (no file)"));
  EXPECT_THAT(m, HasSubstr("hint:"));
  EXPECT_THAT(m, Not(HasSubstr("other-Secr3t")));
}

TEST_F(S3Credentials, HalfAPairIsAConfigurationError) {
  m_vars["AWS_ACCESS_KEY_ID"] = "AKONLY";
  auto c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, gate::util::ErrorKind::config);
  EXPECT_THAT(c.error().message,
              HasSubstr("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"));
  m_vars.erase("AWS_ACCESS_KEY_ID");
  write(m_home / ".aws" / "credentials", "[default]\naws_secret_access_key = lonely-Secr3t\n");
  c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("must be given together"));
  EXPECT_THAT(c.error().message, Not(HasSubstr("lonely-Secr3t")));
  write(m_home / ".aws" / "credentials", "[default]\nthis line is wrong lonely-Secr3t\n");
  c = resolve_s3_credentials("offsite", {}, env());
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("credentials:2: expected 'key = value'"));
  EXPECT_THAT(c.error().message, Not(HasSubstr("lonely-Secr3t")));
}
