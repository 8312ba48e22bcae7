// Pipes between child processes and compressed files, in both directions:
// a command's stdout compressed into a file (pg_dump), and a compressed file
// decompressed into a command's stdin (pg_restore, psql). The file is hashed
// on the way; a failed command never leaves a file behind.
#pragma once

#include "util/compressed_file.hpp"
#include "util/process.hpp"

#include <filesystem>
#include <functional>

namespace gate::util {

struct CommandFailure {
  ExitStatus status;
  std::string stderr_tail;
};

// Runs `spec`, compressing its stdout into the new file `out`. On a non-zero
// exit the file is removed and the error names the command, its status and
// the end of its stderr. `progress` gets raw bytes so far.
Result<WrittenFile> command_to_file(const ProcessSpec &spec, const std::filesystem::path &out,
                                    CodecOptions codec,
                                    const std::function<void(uint64_t)> &progress,
                                    GrowthSignal *growth = nullptr);

struct FedFile {
  ReadFile file;     // the input file's size and hash
  ExitStatus status; // the command's exit
  std::string stderr_tail;
};

// How much of the file is read when the command stops reading early.
enum class FeedEnd {
  whole_file,        // read (and hash) the rest anyway: FedFile::file describes the whole file
  when_reader_stops, // stop with the command (pg_restore --list reads only the head): no hash
};

// Runs `spec` with the decompressed content of `in` on its stdin. The command
// may stop reading early (EPIPE is not an error). Returns the command's exit;
// callers decide what a non-zero exit means.
Result<FedFile> file_to_command(const std::filesystem::path &in, const ProcessSpec &spec,
                                const std::function<void(uint64_t)> &progress,
                                GrowthSignal *follow = nullptr, FeedEnd end = FeedEnd::whole_file);

} // namespace gate::util
