#include "util/age_file.hpp"

#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace gate::util::age {

namespace {

// A file created beside its final path and renamed into place by commit();
// removed if never committed.
class PendingFile {
public:
  static Result<PendingFile> create(const std::filesystem::path &path) {
    PendingFile f;
    f.m_path = path;
    auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    f.m_temp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
    int raw = ::mkstemp(f.m_temp.data());
    if (raw < 0) {
      f.m_temp.clear();
      return fail("unable to create a file in '" + dir.string() + "': " + errno_text(errno));
    }
    f.m_fd.reset(raw);
    if (::fchmod(raw, 0600) != 0) return fail("unable to set the mode of '" + f.m_temp + "'");
    return f;
  }
  PendingFile(PendingFile &&o) noexcept
      : m_path(std::move(o.m_path)), m_temp(std::exchange(o.m_temp, {})), m_fd(std::move(o.m_fd)) {}
  ~PendingFile() {
    if (!m_temp.empty()) ::unlink(m_temp.c_str());
  }
  int fd() const { return m_fd.get(); }
  Result<void> commit(Durability durability = Durability::now) {
    if (durability == Durability::now && ::fsync(m_fd.get()) != 0)
      return fail("unable to fsync '" + m_path.string() + "': " + errno_text(errno));
    m_fd.reset();
    if (::rename(m_temp.c_str(), m_path.c_str()) != 0)
      return fail("unable to create '" + m_path.string() + "': " + errno_text(errno));
    m_temp.clear();
    if (durability == Durability::later) return {};
    return fsync_path(m_path.parent_path().empty() ? "." : m_path.parent_path());
  }

private:
  PendingFile() = default;
  std::filesystem::path m_path;
  std::string m_temp;
  UniqueFd m_fd;
};

Result<UniqueFd> open_input(const std::filesystem::path &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail("unable to read '" + path.string() + "': " + errno_text(errno));
  return fd;
}

// A sink that hashes what passes through it.
Sink hashing(Sha256 &hash, Sink next) {
  return [&hash, next = std::move(next)](const char *d, size_t n) -> Result<void> {
    hash.update(d, n);
    return next(d, n);
  };
}

} // namespace

Source fd_source(int fd, std::string name) {
  return [fd, name = std::move(name)](char *data, size_t size) -> Result<size_t> {
    while (true) {
      ssize_t n = ::read(fd, data, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return fail("unable to read '" + name + "': " + errno_text(errno));
    }
  };
}

Sink fd_sink(int fd, std::string name) {
  return [fd, name = std::move(name)](const char *data, size_t size) -> Result<void> {
    return write_all(fd, data, size, name);
  };
}

Result<AgeFileStats> encrypt_file(const std::filesystem::path &input,
                                  const std::filesystem::path &output, const Recipients &recipients,
                                  Durability durability) {
  TRY_ASSIGN(auto in, open_input(input));
  TRY_ASSIGN(auto out, PendingFile::create(output));
  Sha256 plain_hash, cipher_hash;
  auto enc =
      AgeEncryptor::create(recipients, hashing(cipher_hash, fd_sink(out.fd(), output.string())));
  if (!enc)
    return std::unexpected(enc.error().with_context("unable to encrypt '" + input.string() + "'"));
  auto read = fd_source(in.get(), input.string());
  std::vector<char> buf(k_chunk_size);
  while (true) {
    TRY_ASSIGN(size_t n, read(buf.data(), buf.size()));
    if (n == 0) break;
    plain_hash.update(buf.data(), n);
    TRY((*enc)->write(buf.data(), n));
  }
  TRY((*enc)->finish());
  TRY(out.commit(durability));
  return AgeFileStats{(*enc)->plaintext_bytes(), (*enc)->ciphertext_bytes(),
                      plain_hash.hex_digest(), cipher_hash.hex_digest()};
}

Result<AgeFileStats> decrypt_file_to_sink(const std::filesystem::path &input, const Sink &sink,
                                          const Identities &identities, AgeFailure *failure) {
  TRY_ASSIGN(auto in, open_input(input));
  Sha256 plain_hash, cipher_hash;
  auto read = fd_source(in.get(), input.string());
  AgeDecryptor dec(
      [&](char *d, size_t n) -> Result<size_t> {
        TRY_ASSIGN(size_t got, read(d, n));
        cipher_hash.update(d, got);
        return got;
      },
      input.string());
  auto result = [&]() -> Result<uint64_t> {
    TRY(dec.open(identities));
    return dec.read_all(hashing(plain_hash, sink));
  }();
  if (failure) *failure = dec.failure();
  if (!result) return std::unexpected(result.error());
  return AgeFileStats{*result, dec.ciphertext_bytes(), plain_hash.hex_digest(),
                      cipher_hash.hex_digest()};
}

Result<AgeFileStats> decrypt_file(const std::filesystem::path &input,
                                  const std::filesystem::path &output, const Identities &identities,
                                  AgeFailure *failure) {
  TRY_ASSIGN(auto out, PendingFile::create(output));
  TRY_ASSIGN(auto stats,
             decrypt_file_to_sink(input, fd_sink(out.fd(), output.string()), identities, failure));
  TRY(out.commit());
  return stats;
}

} // namespace gate::util::age
