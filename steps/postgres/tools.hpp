// Choosing pg_dump, pg_restore, pg_dumpall and psql: the real binaries (never
// Debian's pg_wrapper script) of a major version at least the server's.
#pragma once

#include "util/expected.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace gate::steps {

struct PgTools {
  std::filesystem::path bindir;
  int major = 0;       // e.g. 15
  std::string version; // e.g. "15.14"
  std::filesystem::path tool(const std::string &name) const { return bindir / name; }
};

// Directories to search, in order: pg_bindir, `pg_config --bindir`,
// /usr/lib/postgresql/*/bin (newest first), then PATH entries.
std::vector<std::filesystem::path> pg_tool_candidates(const std::string &pg_bindir);

// The version of the pg_dump in `bindir`, if it runs ("15.14"), else empty.
std::string pg_dump_version(const std::filesystem::path &bindir);

// Picks the tools for a server of `server_major`: the same major if present,
// else the lowest newer one. Fails naming the server's version and every
// pg_dump found.
util::Result<PgTools> select_pg_tools(const std::vector<std::filesystem::path> &candidates,
                                      int server_major);

// True for Debian's pg_wrapper (a Perl script that picks a version itself).
bool is_pg_wrapper(const std::filesystem::path &program);

} // namespace gate::steps
