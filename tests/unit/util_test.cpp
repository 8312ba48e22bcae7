// util/: text helpers, URL sanitising, hashing, compressed files, processes.
#include "util/compressed_file.hpp"
#include "util/json.hpp"
#include "util/process.hpp"
#include "util/redact.hpp"
#include "util/sha256.hpp"
#include "util/tar.hpp"
#include "util/text.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

using namespace gate::util;

TEST(Text, EditDistanceAndSuggestions) {
  EXPECT_EQ(edit_distance("compresion", "compression"), 1u);
  EXPECT_EQ(closest_match("fromat", {"format", "formats", "name"}), "format");
  EXPECT_FALSE(closest_match("zzzzzz", {"format", "name"}).has_value());
}

TEST(Text, GlobsMatchLikeTheDocsSay) {
  EXPECT_TRUE(glob_match("cache/**", "cache/a/b/c"));
  EXPECT_FALSE(glob_match("cache/*", "cache/a/b"));
  EXPECT_TRUE(glob_match("*.log", "app.log"));
  EXPECT_FALSE(glob_match("*.log", "logs/app.log"));
  EXPECT_TRUE(glob_match("**/*.log", "logs/app.log"));
  EXPECT_TRUE(glob_match("**/*.log", "app.log"));
  EXPECT_TRUE(glob_match("file?.txt", "file1.txt"));
  EXPECT_TRUE(excluded("cache", {"cache/**"}));
  EXPECT_TRUE(glob_match("public.order*", "public.orders"));
}

TEST(Text, HumanSizes) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_duration_ms(4200), "4.2 s");
}

TEST(Redact, UrlsLoseTheirSecrets) {
  EXPECT_EQ(sanitize_url("postgresql://app:pa55@db:5432/app?sslmode=require&password=x"),
            "postgresql://app:***@db:5432/app?sslmode=require&password=***");
  EXPECT_EQ(sanitize_url("host=db user=app password='p w' dbname=app"),
            "host=db user=app password=*** dbname=app");
  EXPECT_EQ(sanitize_url("https://hooks.example.com/services/T0/B0?token=abc123"),
            "https://hooks.example.com/services/T0/B0?token=***");
  EXPECT_EQ(sanitize_url("https://user:tok@example.com/x"), "https://user:***@example.com/x");
  register_url_secrets("postgresql://u:Zq%40rty12@db/app");
  EXPECT_EQ(redact("password Zq@rty12 leaked"), "password *** leaked");
}

TEST(Sha256, KnownDigestsAndHmac) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CompressedFile, RoundTripsAndHashesWhatIsOnDisk) {
  auto dir = std::filesystem::temp_directory_path() / ("gate-unit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (Codec codec : {Codec::zstd, Codec::gzip, Codec::none}) {
    auto path = dir / (std::string("f") + codec_suffix(codec));
    auto w = CompressedWriter::create(path, {codec, 0, 2});
    ASSERT_TRUE(w.has_value()) << w.error().message;
    std::string chunk(100000, 'a');
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE((*w)->write(chunk.data(), chunk.size()).has_value());
    auto written = (*w)->finish();
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_EQ(written->raw_bytes, 2000000u);
    EXPECT_EQ(written->sha256, *sha256_file(path));
    uint64_t seen = 0;
    auto read = read_compressed(path, [&](const char *, size_t n) -> Result<void> {
      seen += n;
      return {};
    });
    ASSERT_TRUE(read.has_value()) << read.error().message;
    EXPECT_EQ(seen, 2000000u);
    EXPECT_EQ(read->sha256, written->sha256);
  }
  std::filesystem::remove_all(dir);
}

TEST(Process, CapturesOutputExitCodesAndTimeouts) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  auto r = run_command(spec);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status.code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err");
  ProcessSpec slow;
  slow.argv = {"sh", "-c", "exec sleep 30"};
  slow.stdout_mode = StreamMode::null;
  auto p = Process::start(slow);
  ASSERT_TRUE(p.has_value());
  auto status = (*p)->wait(std::chrono::milliseconds(50));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->timed_out);
  ProcessSpec missing;
  missing.argv = {"/nonexistent/program"};
  EXPECT_FALSE(Process::start(missing).has_value());
}

TEST(Json, BytesThatAreNotUtf8AreWrittenAsReplacementCharacters) {
  nlohmann::json j{{"name", std::string("caf\xe9.txt")}, {"ok", "caf\xc3\xa9"}};
  std::string text;
  ASSERT_NO_THROW(text = gate::util::json_text(j));
  EXPECT_EQ(text, "{\"name\":\"caf\xef\xbf\xbd.txt\",\"ok\":\"caf\xc3\xa9\"}");
  EXPECT_FALSE(nlohmann::json::parse(gate::util::json_text(j, 2), nullptr, false).is_discarded());
}

TEST(Text, FirstInvalidUtf8Byte) {
  using gate::util::first_invalid_utf8;
  EXPECT_EQ(first_invalid_utf8("plain ascii"), std::nullopt);
  EXPECT_EQ(first_invalid_utf8("caf\xc3\xa9 \xf0\x9f\x9a\x80"), std::nullopt);
  EXPECT_EQ(first_invalid_utf8("caf\xe9"), 3u);            // Latin-1
  EXPECT_EQ(first_invalid_utf8("a\xc0\xaf"), 1u);          // overlong '/'
  EXPECT_EQ(first_invalid_utf8("a\xed\xa0\x80"), 1u);      // a UTF-16 surrogate
  EXPECT_EQ(first_invalid_utf8("ab\xf4\x90\x80\x80"), 2u); // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("\xe2\x82"), 0u);           // cut short
}
