#include "util/sha256.hpp"

#include "util/fd.hpp"
#include "util/fs.hpp"

#include <cerrno>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <vector>

namespace gate::util {

namespace {
std::string to_hex(const unsigned char *bytes, unsigned len) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 0xf]);
  }
  return out;
}
} // namespace

struct Sha256::Impl {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr);
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256 &&) noexcept = default;
Sha256 &Sha256::operator=(Sha256 &&) noexcept = default;

void Sha256::update(const void *data, size_t size) {
  EVP_DigestUpdate(m_impl->ctx, data, size);
}

std::string Sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(m_impl->ctx, md, &len);
  return to_hex(md, len);
}

Result<std::string> sha256_file(const std::filesystem::path &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail("unable to read '" + path.string() + "': " + errno_text(errno));
  Sha256 hash;
  std::vector<char> buf(1 << 20);
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("unable to read '" + path.string() + "': " + errno_text(errno));
    }
    if (n == 0) break;
    hash.update(buf.data(), static_cast<size_t>(n));
  }
  return hash.hex_digest();
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char *>(data.data()), data.size(), md, &len);
  return to_hex(md, len);
}

std::string hmac_sha256_raw(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char *>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char *>(md), len);
}

std::string hex_encode(std::string_view bytes) {
  return to_hex(reinterpret_cast<const unsigned char *>(bytes.data()),
                static_cast<unsigned>(bytes.size()));
}

} // namespace gate::util
