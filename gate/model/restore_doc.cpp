#include "model/restore_doc.hpp"

#include "model/set_encryption.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

namespace gate::model {

namespace {
void replace_all(std::string &s, const std::string &from, const std::string &to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

constexpr const char *k_decrypt = "age -d -i key.txt ";

// A command reading the plaintext file `token` ('{set}/x.dump.zst') made to
// read it from `age -d` instead: a leading decompression reads the pipe, any
// other reader gets /dev/stdin.
std::string decrypting(const std::string &command, const std::string &token,
                       const std::string &stored) {
  std::string age = k_decrypt + std::string("'{set}/") + stored + "' | ";
  for (const char *tool : {"zstd -dc ", "gzip -dc ", "cat "}) {
    std::string prefix = tool + token + " | ";
    if (!command.starts_with(prefix)) continue;
    std::string decompress = std::string(tool) == "cat " ? "" : std::string(tool) + "| ";
    return age + decompress + command.substr(prefix.size());
  }
  std::string out = command;
  replace_all(out, token, "/dev/stdin");
  return age + out;
}

// The plain commands of an encrypted artifact: each file through `age -d`;
// a dump directory decrypted in place first.
std::vector<std::string> encrypted_commands(const Artifact &artifact,
                                            std::vector<std::string> commands) {
  bool whole_dir = false;
  for (auto &c : commands) {
    if (c.starts_with("#")) continue;
    bool matched = false;
    for (const auto &f : artifact.files) {
      std::string token = "'{set}/" + plaintext_path(f) + "'";
      if (c.find(token) == std::string::npos) continue;
      c = decrypting(c, token, f.path);
      matched = true;
      break;
    }
    if (!matched && c.find("'{set}/" + artifact.path + "'") != std::string::npos) whole_dir = true;
  }
  if (whole_dir)
    commands.insert(commands.begin(), "for f in '{set}/" + artifact.path + "'/*" + k_age_suffix +
                                          "; do " + k_decrypt + "-o \"${f%" + k_age_suffix +
                                          "}\" \"$f\"; done");
  commands.insert(commands.begin(), "# encrypted to " + describe_recipients(artifact) +
                                        ": key.txt is the identity file (age-keygen's)");
  return commands;
}

} // namespace

std::vector<std::string> plain_restore_commands(const Artifact &artifact,
                                                const std::filesystem::path &set_dir) {
  std::vector<std::string> lines;
  for (const auto &line : artifact.details.value("restore", nlohmann::json::array()))
    lines.push_back(line.get<std::string>());
  if (artifact.encrypted() && !lines.empty()) lines = encrypted_commands(artifact, lines);
  std::vector<std::string> out;
  for (std::string s : lines) {
    // {set} always stands inside a single-quoted shell word.
    replace_all(s, "{set}", util::shell_quote_inner(set_dir.string()));
    out.push_back(std::move(s));
  }
  return out;
}

std::string restore_markdown(const Manifest &m, const std::filesystem::path &set_dir) {
  std::string out;
  out += fmt::format("# Restoring backup set {}\n\n", m.id);
  out += fmt::format("Created {} by gate {}", m.created_at, m.gate_version);
  if (!m.project.empty()) out += fmt::format(" for {}", m.project);
  if (!m.environment.empty()) out += fmt::format(" ({})", m.environment);
  out += ".\n";
  if (m.git.is_object() && m.git.contains("commit") && !m.git["commit"].is_null())
    out += fmt::format("It protects git commit {} on branch {}.\n",
                       m.git["commit"].get<std::string>(), m.git.value("branch", std::string("?")));
  out += "\n## With gate\n\n```sh\n";
  out += fmt::format("gate verify {}            # checksums and a full read of every file\n", m.id);
  out += fmt::format("gate rollback {} --dry-run  # what would be replaced\n", m.id);
  out +=
      fmt::format("gate rollback {}            # restore, then check row counts and files\n", m.id);
  out +=
      "```\n\n## Without gate\n\nFirst check that nothing was damaged since the backup:\n\n```sh\n";
  out += fmt::format("cd {}\nsha256sum -c checksums.sha256\n```\n",
                     util::shell_quote(set_dir.string()));
  out += "\nSet `DATABASE_URL` to the database to restore into (a libpq URL or keyword string;\n"
         "the password from `.pgpass` or `PGPASSWORD`). Use a `pg_restore`/`psql` at least as new\n"
         "as the server that was dumped. Prefer a new, empty database (`createdb -T template0 "
         "NAME`):\n"
         "`--clean` over an existing one fails on a partitioned table with a primary key. The\n"
         "database's own properties (owner, encoding, grants, comment, settings) are not in the\n"
         "dumps: manifest.json lists them under `database_properties`.\n";
  for (const auto &a : m.artifacts) {
    out += fmt::format("\n### {} `{}` ({}, {}, {})\n\n", a.kind, a.target, a.format, a.compression,
                       util::human_bytes(a.bytes()));
    auto commands = plain_restore_commands(a, set_dir);
    if (commands.empty()) {
      out += fmt::format("The files are under `{}`.\n", a.path);
      continue;
    }
    out += "```sh\n";
    for (const auto &c : commands)
      out += c + "\n";
    out += "```\n";
  }
  return out;
}

} // namespace gate::model
