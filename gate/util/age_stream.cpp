#include "util/age_stream.hpp"

#include <cstring>
#include <vector>

namespace gate::util::age {

namespace {

constexpr std::string_view k_payload_info = "payload";

// The STREAM nonce: an 11-byte big-endian chunk counter, then the final flag.
void make_nonce(uint64_t counter, bool final, unsigned char nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i)
    nonce[10 - i] = static_cast<unsigned char>(counter >> (8 * i));
  nonce[11] = final ? 1 : 0;
}

Result<ChaChaPoly> payload_cipher(const Secret &file_key, std::string_view nonce) {
  TRY_ASSIGN(auto key, hkdf_sha256(file_key, nonce, k_payload_info, 32));
  return ChaChaPoly::create(key);
}

} // namespace

struct AgeEncryptor::Impl {
  Sink sink;
  std::optional<ChaChaPoly> aead;
  std::vector<char> plain;
  std::vector<char> sealed = std::vector<char>(k_sealed_chunk_size);
  uint64_t counter = 0;
  uint64_t plaintext_bytes = 0;
  uint64_t ciphertext_bytes = 0;
  bool finished = false;

  Result<void> emit(const char *data, size_t size) {
    TRY(sink(data, size));
    ciphertext_bytes += size;
    return {};
  }

  Result<void> seal_chunk(bool final) {
    unsigned char nonce[12];
    make_nonce(counter++, final, nonce);
    TRY(aead->seal(nonce, plain.data(), plain.size(), sealed.data()));
    TRY(emit(sealed.data(), plain.size() + k_aead_tag_size));
    plain.clear();
    return {};
  }
};

AgeEncryptor::~AgeEncryptor() = default;

Result<std::unique_ptr<AgeEncryptor>> AgeEncryptor::create(const Recipients &recipients,
                                                           Sink sink) {
  TRY_ASSIGN(auto file_key, random_bytes(k_file_key_size));
  TRY_ASSIGN(auto stanzas, wrap_file_key(recipients, file_key));
  TRY_ASSIGN(auto header, encode_header(stanzas, file_key));
  TRY_ASSIGN(auto nonce, random_bytes(k_payload_nonce_size));
  std::unique_ptr<AgeEncryptor> enc(new AgeEncryptor());
  enc->m_impl = std::make_unique<Impl>();
  auto &impl = *enc->m_impl;
  impl.sink = std::move(sink);
  impl.plain.reserve(k_chunk_size);
  TRY_ASSIGN(impl.aead, payload_cipher(file_key, nonce.bytes()));
  TRY(impl.emit(header.data(), header.size()));
  TRY(impl.emit(nonce.bytes().data(), nonce.size()));
  return enc;
}

Result<void> AgeEncryptor::write(const void *data, size_t size) {
  auto &impl = *m_impl;
  if (impl.finished) return fail("age encryption: write after finish");
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    // A full chunk is sealed only once more data proves it is not the last.
    if (impl.plain.size() == k_chunk_size) TRY(impl.seal_chunk(false));
    size_t n = std::min(size, k_chunk_size - impl.plain.size());
    impl.plain.insert(impl.plain.end(), p, p + n);
    impl.plaintext_bytes += n;
    p += n;
    size -= n;
  }
  return {};
}

Result<void> AgeEncryptor::finish() {
  auto &impl = *m_impl;
  if (impl.finished) return fail("age encryption: finish called twice");
  impl.finished = true;
  return impl.seal_chunk(true);
}

uint64_t AgeEncryptor::plaintext_bytes() const {
  return m_impl->plaintext_bytes;
}
uint64_t AgeEncryptor::ciphertext_bytes() const {
  return m_impl->ciphertext_bytes;
}

struct AgeDecryptor::Impl {
  std::string name;
  uint64_t ciphertext_bytes = 0;
  BufferedSource in;
  std::optional<ChaChaPoly> aead;
  AgeFailure failure = AgeFailure::none;
  // One sealed chunk plus one byte: that byte tells a final chunk from one
  // that has followers before anything of it is released.
  std::vector<char> sealed = std::vector<char>(k_sealed_chunk_size + 1);
  size_t have = 0;
  std::vector<char> plain = std::vector<char>(k_chunk_size);
  uint64_t counter = 0;
  bool done = false;

  Impl(Source source, std::string n)
      : name(std::move(n)),
        in([this, src = std::move(source)](char *d, size_t s) -> Result<size_t> {
          auto got = src(d, s);
          if (got) ciphertext_bytes += *got;
          return got;
        }) {}

  std::unexpected<Error> failed(AgeFailure why, const Error &error) {
    failure = in.io_failed() ? AgeFailure::io : why;
    done = true;
    return std::unexpected(Error{error.kind, "unable to decrypt '" + name + "': " + error.message});
  }
  std::unexpected<Error> failed(AgeFailure why, const std::string &message) {
    return failed(why, Error{ErrorKind::failed, message});
  }

  Result<std::string_view> open_chunk(bool final);
  Result<std::string_view> next();
};

AgeDecryptor::AgeDecryptor(Source source, std::string name)
    : m_impl(std::make_unique<Impl>(std::move(source), std::move(name))) {}
AgeDecryptor::~AgeDecryptor() = default;

Result<void> AgeDecryptor::open(const Identities &identities) {
  auto &impl = *m_impl;
  auto header = parse_header(impl.in);
  if (!header) return impl.failed(AgeFailure::header, header.error());
  auto key = unwrap_file_key(*header, identities);
  if (!key) return impl.failed(AgeFailure::header, key.error());
  if (!*key) {
    bool scrypt = header->stanzas.size() == 1 && header->stanzas[0].args[0] == "scrypt";
    if (scrypt && !identities.passphrase)
      return impl.failed(AgeFailure::no_match,
                         "the file is passphrase-encrypted; no passphrase given");
    return impl.failed(AgeFailure::no_match,
                       scrypt ? "the passphrase does not open the file"
                              : "no identity matches any of the file's recipients");
  }
  auto mac_ok = header_mac_matches(*header, **key);
  if (!mac_ok) return impl.failed(AgeFailure::header, mac_ok.error());
  if (!*mac_ok)
    return impl.failed(AgeFailure::hmac,
                       "the header MAC does not verify: the header was tampered with");
  char nonce[k_payload_nonce_size];
  auto got = impl.in.read(nonce, sizeof nonce);
  if (!got) return impl.failed(AgeFailure::io, got.error());
  if (*got != sizeof nonce)
    return impl.failed(AgeFailure::header,
                       "the file ends before the payload nonce: it is truncated");
  auto aead = payload_cipher(**key, std::string_view(nonce, sizeof nonce));
  if (!aead) return impl.failed(AgeFailure::header, aead.error());
  impl.aead = std::move(*aead);
  return {};
}

Result<std::string_view> AgeDecryptor::Impl::open_chunk(bool final) {
  size_t size = final ? have : k_sealed_chunk_size;
  unsigned char nonce[12];
  make_nonce(counter, final, nonce);
  if (aead->open(nonce, sealed.data(), size, plain.data())) {
    ++counter;
    std::string_view out(plain.data(), size - k_aead_tag_size);
    if (final) {
      done = true;
    } else {
      sealed[0] = sealed[k_sealed_chunk_size];
      have = 1;
    }
    return out;
  }
  std::string at = "chunk " + std::to_string(counter) + " (offset " +
                   std::to_string(counter * k_chunk_size) + " of the plaintext)";
  make_nonce(counter, !final, nonce);
  if (aead->open(nonce, sealed.data(), size, plain.data())) {
    wipe_bytes(plain.data(), size - k_aead_tag_size);
    return failed(AgeFailure::payload,
                  final ? "the file ends at " + at + " without a final chunk: it is truncated"
                        : "data follows the final " + at);
  }
  return failed(AgeFailure::payload, at + " fails authentication: the file is damaged or was "
                                          "tampered with");
}

Result<std::string_view> AgeDecryptor::Impl::next() {
  if (done) {
    if (failure != AgeFailure::none)
      return fail("unable to decrypt '" + name + "': already failed");
    return std::string_view();
  }
  if (!aead) return failed(AgeFailure::header, "the header was not read (open() first)");
  auto got = in.read(sealed.data() + have, sealed.size() - have);
  if (!got) return failed(AgeFailure::io, got.error());
  have += *got;
  if (have == sealed.size()) return open_chunk(false);
  if (have == 0)
    return failed(AgeFailure::payload, "the file ends after the header: the payload is missing");
  if (have < k_aead_tag_size)
    return failed(AgeFailure::payload,
                  "the file ends inside chunk " + std::to_string(counter) + ": it is truncated");
  if (have == k_aead_tag_size && counter > 0)
    return failed(AgeFailure::payload, "the final chunk is empty, which the format forbids "
                                       "after other chunks");
  return open_chunk(true);
}

Result<std::string_view> AgeDecryptor::next() {
  return m_impl->next();
}

Result<uint64_t> AgeDecryptor::read_all(const Sink &sink) {
  uint64_t total = 0;
  while (true) {
    TRY_ASSIGN(auto chunk, next());
    if (chunk.empty() && m_impl->done) return total;
    TRY(sink(chunk.data(), chunk.size()));
    total += chunk.size();
  }
}

AgeFailure AgeDecryptor::failure() const {
  return m_impl->failure;
}
uint64_t AgeDecryptor::ciphertext_bytes() const {
  return m_impl->ciphertext_bytes;
}

} // namespace gate::util::age
