// gate version
#include "cli/commands.hpp"
#include "model/version.hpp"
#include "steps/postgres/tools.hpp"
#include "util/compressed_file.hpp"
#include "util/pg.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

namespace gate::cli {

void version_options(CLI::App &, Args &) {}

int version_command(Args &args, Console &console) {
  nlohmann::json j;
  j["gate"] = model::k_gate_version;
  j["libpq"] = util::libpq_version();
  j["libarchive"] = util::libarchive_version();
  j["openssl"] = OpenSSL_version(OPENSSL_VERSION);
  j["pg_dump"] = nlohmann::json::array();
  for (const auto &dir : steps::pg_tool_candidates(""))
    if (auto v = steps::pg_dump_version(dir); !v.empty())
      j["pg_dump"].push_back({{"path", (dir / "pg_dump").string()}, {"version", v}});
  if (args.output.json) {
    console.json(j);
    return 0;
  }
  console.print(fmt::format("gate {}", model::k_gate_version));
  console.print(fmt::format("libpq {}", j["libpq"].get<std::string>()));
  console.print(j["libarchive"].get<std::string>());
  console.print(j["openssl"].get<std::string>());
  if (j["pg_dump"].empty()) console.print("pg_dump: none found (needed for databases)");
  for (const auto &p : j["pg_dump"])
    console.print(fmt::format("pg_dump {} ({})", p["version"].get<std::string>(),
                              p["path"].get<std::string>()));
  return 0;
}

} // namespace gate::cli
