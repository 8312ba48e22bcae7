#include "cli/identity_option.hpp"

#include <CLI/CLI.hpp>

namespace gate::cli {

void add_identity_option(CLI::App &sub, Args &args) {
  sub.add_option("--identity", args.identity,
                 "the age identity file (age-keygen's) that decrypts an encrypted set; else "
                 "GATE_AGE_IDENTITY_FILE, else encryption.identity_file");
}

std::optional<std::filesystem::path> identity_file(const Args &args) {
  if (args.identity.empty()) return std::nullopt;
  return std::filesystem::path(args.identity);
}

} // namespace gate::cli
