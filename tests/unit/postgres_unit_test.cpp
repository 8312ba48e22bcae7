// PostgreSQL pieces that need no server: choosing pg_dump by version with
// stand-in binaries, CSV record counting, table selection, scratch names.
#include "steps/postgres/dump_restore.hpp"
#include "steps/postgres/facts.hpp"
#include "steps/postgres/tools.hpp"
#include "steps/postgres/verify.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

using namespace gate;
namespace fs = std::filesystem;

namespace {
// A directory with a pg_dump that prints `version` like the real one.
fs::path fake_bindir(const fs::path &root, const std::string &name, const std::string &version) {
  fs::path dir = root / name;
  fs::create_directories(dir);
  std::ofstream(dir / "pg_dump") << "#!/bin/sh\necho 'pg_dump (PostgreSQL) " << version
                                 << " (Debian)'\n";
  fs::permissions(dir / "pg_dump", fs::perms::owner_all);
  return dir;
}
} // namespace

TEST(PgTools, PicksTheServersMajorElseTheLowestNewerOne) {
  fs::path root = fs::temp_directory_path() / ("gate-unit-pg-" + std::to_string(::getpid()));
  auto v13 = fake_bindir(root, "13", "13.9");
  auto v15 = fake_bindir(root, "15", "15.14");
  auto v16 = fake_bindir(root, "16", "16.2");
  std::vector<fs::path> candidates{v16, v13, v15};
  auto same = steps::select_pg_tools(candidates, 15);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->bindir, v15);
  EXPECT_EQ(same->version, "15.14");
  auto newer = steps::select_pg_tools(candidates, 14);
  ASSERT_TRUE(newer.has_value());
  EXPECT_EQ(newer->major, 15);
  auto none = steps::select_pg_tools(candidates, 17);
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message, ::testing::HasSubstr("no pg_dump of PostgreSQL 17 or newer"));
  EXPECT_THAT(none.error().message, ::testing::HasSubstr("16.2"));
  fs::remove_all(root);
}

TEST(PgTools, DebiansWrapperIsNeverUsed) {
  fs::path root = fs::temp_directory_path() / ("gate-unit-wrap-" + std::to_string(::getpid()));
  fs::create_directories(root);
  std::ofstream(root / "pg_dump") << "#!/usr/bin/perl\n# pg_wrapper\n";
  fs::permissions(root / "pg_dump", fs::perms::owner_all);
  EXPECT_TRUE(steps::is_pg_wrapper(root / "pg_dump"));
  EXPECT_EQ(steps::pg_dump_version(root), "");
  fs::remove_all(root);
}

TEST(Csv, RecordsCountNewlinesOutsideQuotes) {
  steps::CsvRecordCounter c;
  std::string data = "id,note\n1,plain\n2,\"multi\nline, \"\"quoted\"\"\"\n3,x";
  c.feed(data.data(), 10);
  c.feed(data.data() + 10, data.size() - 10);
  EXPECT_EQ(c.records(), 4u); // header + 3 rows, the last without a newline
}

TEST(Tables, SelectionFollowsTablesAndExcludes) {
  EXPECT_TRUE(steps::table_selected("public", "orders", {}, {}));
  EXPECT_FALSE(steps::table_selected("public", "orders", {"customers"}, {}));
  EXPECT_TRUE(steps::table_selected("billing", "orders", {"orders"}, {}));
  EXPECT_FALSE(steps::table_selected("public", "audit_log", {}, {"audit_*"}));
  EXPECT_FALSE(steps::table_selected("billing", "x", {}, {"billing.*"}));
}

TEST(Scratch, DatabaseNamesAreSafe) {
  EXPECT_EQ(steps::scratch_database_name("pre-deployment-20261122_014500"),
            "gate_verify_pre_deployment_20261122_014500");
}

namespace {
// Feeds `script` to an OwnTransactionFilter in pieces of `chunk` bytes.
std::pair<std::string, bool> filtered(const std::string &script, size_t chunk,
                                      bool *wrapped = nullptr) {
  std::string out;
  steps::OwnTransactionFilter filter([&](const char *d, size_t n) -> util::Result<void> {
    out.append(d, n);
    return {};
  });
  for (size_t i = 0; i < script.size(); i += chunk)
    EXPECT_TRUE(filter.feed(script.data() + i, std::min(chunk, script.size() - i)).has_value());
  bool ok = filter.finish().has_value();
  if (wrapped) *wrapped = filter.wrapped();
  return {out, ok};
}
} // namespace

TEST(OwnTransactionFilter, RemovesTheScriptsOwnBeginAndFinalCommitOnly) {
  std::string body = "SET x = 0;\nCOPY t (v) FROM stdin;\nCOMMIT;\nBEGIN;\n\\.\nSELECT "
                     "pg_catalog.lo_open('1', 1);\n" +
                     std::string(20000, '-') + "\n";
  std::string script =
      "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nBEGIN;\n\n" + body +
      "COMMIT;\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n\n";
  std::string expected = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\n\n" + body +
                         "\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n\n";
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    bool wrapped = false;
    auto [out, ok] = filtered(script, chunk, &wrapped);
    EXPECT_TRUE(ok) << chunk;
    EXPECT_TRUE(wrapped);
    EXPECT_EQ(out, expected) << chunk;
  }
}

TEST(OwnTransactionFilter, AScriptWithoutItsOwnTransactionPassesUnchanged) {
  std::string script = "--\n-- dump\n--\n\nSET x = 0;\nBEGIN;\nCOMMIT;\n";
  bool wrapped = true;
  auto [out, ok] = filtered(script, 3, &wrapped);
  EXPECT_TRUE(ok);
  EXPECT_FALSE(wrapped);
  EXPECT_EQ(out, script);
}

TEST(OwnTransactionFilter, AWrappedScriptCutBeforeItsCommitFails) {
  auto [out, ok] = filtered("BEGIN;\nSET x = 0;\nCREATE TABLE t (a int);\n", 5);
  EXPECT_FALSE(ok);
  EXPECT_EQ(out.find("COMMIT"), std::string::npos);
}
