// Hostile input that gate must refuse or contain, beyond what the unit and
// integration tests already cover (.., absolute paths, symlink-then-file:
// Rollback.ArchivesCannotWriteOutsideTheTarget; non-UTF-8 and deep nesting
// in pipeline.yml: Config.*): archives with hard links out, device nodes,
// setuid files and names with newlines, in a set whose checksums were made
// to agree; manifests with wrong types, huge numbers and deep nesting;
// pipeline.yml alias bombs and a 10 MB file.
#include "faults/fault_project.hpp"

#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

using namespace gate::test;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// A one-volume project backed up once; `install_archive` then replaces the
// volume's archive with one a Python script wrote, and makes the manifest and
// checksums agree with it, so that only the extraction itself can stop it.
class HostileSet {
public:
  HostileSet() {
    make_sample_tree(m_dir / "files", 2);
    fs::create_directories(m_dir / "outside");
    write_file(m_dir / "outside" / "victim.txt", "untouched\n");
    write_pipeline(m_dir.path(), "volumes:\n  - {name: files, path: ./files}\n");
    auto r = run_gate({"run"}, m_dir.path());
    if (r.exit_code != 0) throw std::runtime_error(r.all());
    m_id = newest_set(m_dir / "backups");
  }
  const fs::path &dir() const { return m_dir.path(); }
  fs::path outside() const { return m_dir / "outside"; }

  // `entries`: Python adding members to `tf` (OUTSIDE is the outside dir).
  void install_archive(const std::string &entries) {
    fs::path set = m_dir / "backups" / m_id;
    write_file(m_dir / "evil.py", "import tarfile, io, sys\nOUTSIDE = sys.argv[1]\n"
                                  "tf = tarfile.open('evil.tar', 'w', format=tarfile.PAX_FORMAT)\n"
                                  "def add(name, data=b'', **kw):\n"
                                  "    ti = tarfile.TarInfo(name); ti.size = len(data)\n"
                                  "    for k, v in kw.items(): setattr(ti, k, v)\n"
                                  "    tf.addfile(ti, io.BytesIO(data) if data else None)\n"
                                  "add('.', type=tarfile.DIRTYPE, mode=0o755)\n" +
                                      entries + "\ntf.close()\n");
    auto made = sh("python3 evil.py \"$OUT\" && zstd -q -f evil.tar -o evil.tar.zst && cp "
                   "evil.tar.zst \"$SET/volumes/files.tar.zst\"",
                   m_dir.path(), {{"OUT", outside().string()}, {"SET", set.string()}});
    if (made.exit_code != 0) throw std::runtime_error(made.all());
    auto m = nlohmann::json::parse(read_file(set / "manifest.json"));
    auto &a = m["artifacts"][0];
    std::string sha = sh("sha256sum volumes/files.tar.zst | cut -c1-64", set).out.substr(0, 64);
    a["files"][0]["sha256"] = sha;
    a["files"][0]["bytes"] = fs::file_size(set / "volumes/files.tar.zst");
    auto count =
        sh("python3 -c \"import tarfile; t = list(tarfile.open('evil.tar')); print(len(t), "
           "sum(m.size for m in t if m.isfile()))\"",
           m_dir.path());
    std::istringstream in(count.out);
    long entries_n = 0, bytes = 0;
    in >> entries_n >> bytes;
    a["details"]["entries"] = entries_n;
    a["details"]["content_bytes"] = bytes;
    a["details"]["min_size"] = 0;
    write_file(set / "manifest.json", m.dump(2));
    write_file(set / "checksums.sha256", sha + "  volumes/files.tar.zst\n");
  }

  CommandResult roll_back() const {
    return run_gate({"rollback", m_id, "--yes", "--no-safety-backup"}, m_dir.path());
  }
  // Nothing was created, changed or linked outside the target.
  void expect_outside_untouched() const {
    auto names = sh("ls -A", outside()).out;
    EXPECT_EQ(names, "victim.txt\n");
    EXPECT_EQ(read_file(outside() / "victim.txt"), "untouched\n");
    struct stat st {};
    ASSERT_EQ(::stat((outside() / "victim.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << "a hard link to a file outside was made";
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    EXPECT_FALSE(fs::exists(m_dir / "escaped"));
  }

private:
  TempDir m_dir;
  std::string m_id;
};

} // namespace

TEST(HostileArchives, AHardLinkToAFileOutsideIsRefusedAndTheVolumeStaysOld) {
  for (const char *attack : {"add('h1', type=tarfile.LNKTYPE, linkname=OUTSIDE + '/victim.txt')",
                             "add('h2', type=tarfile.LNKTYPE, linkname='../outside/victim.txt')",
                             "add('l', type=tarfile.SYMTYPE, linkname=OUTSIDE)\n"
                             "add('h3', type=tarfile.LNKTYPE, linkname='l/victim.txt')"}) {
    SCOPED_TRACE(attack);
    HostileSet s;
    s.install_archive(attack);
    auto r = s.roll_back();
    EXPECT_EQ(r.exit_code, 4) << r.all();
    EXPECT_THAT(r.all(), HasSubstr("unchanged"));
    s.expect_outside_untouched();
    EXPECT_TRUE(fs::exists(s.dir() / "files" / "blob.bin")) << "the old volume is in place";
  }
}

TEST(HostileArchives, DeviceNodesSetuidBitsAndNewlinesInNamesStayInsideTheTarget) {
  HostileSet s;
  s.install_archive("add('null-dev', type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)\n"
                    "add('suid.sh', b'#!/bin/sh\\n', mode=0o4755, uid=0)\n"
                    "add('two\\nlines.txt', b'x')\n"
                    "add('../outside/escaped', b'evil')"); // and one that must not get out
  auto r = s.roll_back();
  EXPECT_EQ(r.exit_code, 4) << r.all();
  s.expect_outside_untouched();
  EXPECT_FALSE(fs::exists(s.dir() / "files" / "null-dev")) << "the volume must be wholly old";
  EXPECT_TRUE(fs::exists(s.dir() / "files" / "blob.bin"));
}

TEST(HostileArchives, DeviceNodesSetuidBitsAndNewlinesAloneAreRestoredInsideTheTarget) {
  HostileSet s;
  s.install_archive("add('null-dev', type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)\n"
                    "add('suid.sh', b'#!/bin/sh\\n', mode=0o4755, uid=0)\n"
                    "add('two\\nlines.txt', b'x')");
  auto r = s.roll_back();
  EXPECT_THAT(r.exit_code, AnyOf(0, 4)) << r.all();
  s.expect_outside_untouched();
  // Whatever was written is below the target: the tree holds the names, nothing else moved.
  auto stray = sh("find . -newer pipeline.yml -not -path './files*' -not -path './backups*' "
                  "-not -name 'evil*' -not -name .last-deployment-backup -not -path . -print",
                  s.dir());
  EXPECT_EQ(stray.out, "");
  if (r.exit_code == 0) {
    EXPECT_TRUE(fs::exists(s.dir() / "files" / "two\nlines.txt"));
  }
}

namespace {

// A set whose manifest.json is replaced by `text` (checksums unchanged:
// the manifest is what gate reads first).
CommandResult verify_with_manifest(const std::string &text, std::chrono::milliseconds &took) {
  TempDir t;
  make_sample_tree(t / "files", 1);
  write_pipeline(t.path(), "volumes:\n  - {name: files, path: ./files}\n");
  if (run_gate({"run"}, t.path()).exit_code != 0) return {};
  std::string id = newest_set(t / "backups");
  write_file(t / "backups" / id / "manifest.json", text);
  auto start = std::chrono::steady_clock::now();
  auto r = run_gate({"verify", id}, t.path());
  auto list = run_gate({"list"}, t.path());
  r.err += list.err;
  r.out += "\n[list exit " + std::to_string(list.exit_code) + "]\n" + list.out;
  took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
  return r;
}

} // namespace

TEST(HostileManifests, WrongTypesHugeNumbersAndDeepNestingAreClearErrors) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const std::string &manifest :
       {std::string(R"({"id": 7, "artifacts": "none", "kind": ["x"]})"),
        std::string(R"({"id": "x", "artifacts": [{"files": [{"path": "a", "bytes": 1e400}]}]})"),
        std::string(R"({"artifacts": [{"files": [{"bytes": 99999999999999999999999999}]}]})"),
        std::string(R"({"artifacts": [{"files": [{"bytes": -5, "path": {"a": 1}}]}]})"),
        R"({"artifacts": )" + deep + "}"}) {
    SCOPED_TRACE(manifest.substr(0, 80));
    std::chrono::milliseconds took{};
    auto r = verify_with_manifest(manifest, took);
    EXPECT_NE(r.exit_code, 0) << r.all();
    EXPECT_NE(r.exit_code, -1) << r.all();
    EXPECT_LT(r.exit_code, 128) << "a crash: " << r.all();
    EXPECT_THAT(r.all(), HasSubstr("manifest.json"));
    EXPECT_THAT(r.all(), HasSubstr("[list exit 0]")) << "gate list still lists the rest";
    EXPECT_LT(took, std::chrono::seconds(20));
  }
}

TEST(HostilePipelines, AliasBombsAndATenMegabyteFileAreClearErrorsInBoundedTime) {
  std::string bomb = "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c)
    bomb += std::string(1, c) + ": &" + c + " [*" + char(c - 1) + ", *" + char(c - 1) + ", *" +
            char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" +
            char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + "]\n";
  std::string bomb_in_a_step = "version: 1\nx: &x {name: app, url: 'postgresql://h/db'}\n"
                               "databases: [*x, *x, *x]\n";
  std::string big = "version: 1\n# " + std::string(10 * 1024 * 1024, 'x') + "\n";
  std::string big_value = "version: 1\nproject: '" + std::string(10 * 1024 * 1024, 'y') + "'\n";
  for (const auto *text : {&bomb, &bomb_in_a_step, &big, &big_value}) {
    SCOPED_TRACE(text->substr(0, 60));
    TempDir t;
    write_file(t / "pipeline.yml", *text);
    auto start = std::chrono::steady_clock::now();
    auto r = run_gate({"check"}, t.path());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 2) << r.all().substr(0, 2000);
    EXPECT_THAT(r.all(), HasSubstr("pipeline.yml"));
    EXPECT_LT(r.all().size(), 20000u) << "the error must not echo the input";
  }
}
