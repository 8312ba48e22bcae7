// --identity FILE, shared by the commands that read an encrypted set
// (verify, rollback, fetch).
#pragma once

#include "cli/commands.hpp"

#include <filesystem>
#include <optional>

namespace gate::cli {

// Adds --identity FILE to `sub`.
void add_identity_option(CLI::App &sub, Args &args);

// The identity file given on the command line, if any (GATE_AGE_IDENTITY_FILE
// and encryption.identity_file are looked at where the set is read).
std::optional<std::filesystem::path> identity_file(const Args &args);

} // namespace gate::cli
