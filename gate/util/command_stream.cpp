#include "util/command_stream.hpp"

#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/redact.hpp"

#include <cerrno>
#include <csignal>
#include <unistd.h>
#include <vector>

namespace gate::util {

namespace {
std::string program_name(const ProcessSpec &spec) {
  return std::filesystem::path(spec.argv.empty() ? "command" : spec.argv[0]).filename().string();
}
} // namespace

Result<WrittenFile> command_to_file(const ProcessSpec &spec_in, const std::filesystem::path &out,
                                    CodecOptions codec,
                                    const std::function<void(uint64_t)> &progress,
                                    GrowthSignal *growth) {
  ProcessSpec spec = spec_in;
  spec.stdout_mode = StreamMode::pipe;
  TRY_ASSIGN(auto writer, CompressedWriter::create(out, codec, growth));
  TRY_ASSIGN(auto proc, Process::start(spec));
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  std::optional<Error> write_error;
  while (true) {
    if (cancel_requested()) { // do not compress what is left in the pipe
      write_error = Error{ErrorKind::interrupted, "interrupted"};
      break;
    }
    ssize_t n = ::read(proc->stdout_fd(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      write_error = Error{ErrorKind::failed,
                          "unable to read from " + program_name(spec) + ": " + errno_text(errno)};
      break;
    }
    if (n == 0) break;
    auto r = writer->write(buf.data(), static_cast<size_t>(n));
    if (!r) {
      write_error = r.error();
      break;
    }
    total += static_cast<uint64_t>(n);
    if (progress) progress(total);
  }
  if (write_error) proc->kill_group(SIGTERM);
  proc->close_stdout();
  TRY_ASSIGN(ExitStatus status, proc->wait());
  if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
  if (write_error) return std::unexpected(*write_error);
  if (!status.ok())
    return fail(program_name(spec) + " " + status.describe() + ": " + redact(proc->stderr_tail()));
  return writer->finish(); // the writer removes its file when not finished
}

Result<FedFile> file_to_command(const std::filesystem::path &in, const ProcessSpec &spec_in,
                                const std::function<void(uint64_t)> &progress, GrowthSignal *follow,
                                FeedEnd end) {
  ProcessSpec spec = spec_in;
  spec.stdin_mode = StreamMode::pipe;
  TRY_ASSIGN(auto proc, Process::start(spec));
  bool reader_gone = false;
  uint64_t fed = 0;
  auto read = read_compressed(
      in,
      [&](const char *data, size_t size) -> Result<void> {
        if (reader_gone) return {};
        // SIGPIPE is ignored process-wide: a command that stops reading gives EPIPE.
        auto r = write_all(proc->stdin_fd(), data, size, program_name(spec) + " stdin");
        if (!r) {
          if (r.error().message.find(errno_text(EPIPE)) != std::string::npos) {
            reader_gone = true;
            if (end == FeedEnd::when_reader_stops)
              return fail("the command stopped reading"); // ends the read
            return {};
          }
          return r;
        }
        fed += size;
        if (progress) progress(fed);
        return {};
      },
      follow);
  proc->close_stdin();
  TRY_ASSIGN(ExitStatus status, proc->wait());
  if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
  if (reader_gone && end == FeedEnd::when_reader_stops)
    return FedFile{ReadFile{}, status, redact(proc->stderr_tail())};
  if (!read) return std::unexpected(read.error());
  return FedFile{*read, status, redact(proc->stderr_tail())};
}

} // namespace gate::util
