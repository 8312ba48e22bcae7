#include "util/age_crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <utility>

namespace gate::util::age {

namespace {

// OpenSSL's own reason, without anything secret (it never includes key bytes).
std::string openssl_reason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

struct PkeyFree {
  void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX *p) const { EVP_PKEY_CTX_free(p); }
};
struct KdfFree {
  void operator()(EVP_KDF *p) const { EVP_KDF_free(p); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX *p) const { EVP_KDF_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

const unsigned char *bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char *>(s.data());
}

Result<Secret> run_kdf(const char *name, OSSL_PARAM *params, size_t length) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, name, nullptr));
  if (!kdf) return fail(std::string("unable to load ") + name + ": " + openssl_reason());
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  std::string out(length, '\0');
  if (!ctx ||
      EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char *>(out.data()), length, params) != 1)
    return fail(std::string("unable to derive a key with ") + name + ": " + openssl_reason());
  return Secret(std::move(out));
}

} // namespace

Secret::Secret(Secret &&other) noexcept : m_bytes(std::move(other.m_bytes)) {
  other.wipe();
}
Secret &Secret::operator=(const Secret &other) {
  if (this != &other) {
    wipe();
    m_bytes = other.m_bytes;
  }
  return *this;
}
Secret &Secret::operator=(Secret &&other) noexcept {
  if (this != &other) {
    wipe();
    m_bytes = std::move(other.m_bytes);
    other.wipe();
  }
  return *this;
}
Secret::~Secret() {
  wipe();
}
void Secret::wipe() {
  if (!m_bytes.empty()) OPENSSL_cleanse(m_bytes.data(), m_bytes.size());
  m_bytes.clear();
}

void wipe_bytes(void *data, size_t size) {
  OPENSSL_cleanse(data, size);
}

Result<Secret> random_bytes(size_t size) {
  std::string out(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char *>(out.data()), static_cast<int>(size)) != 1)
    return fail("unable to get random bytes: " + openssl_reason());
  return Secret(std::move(out));
}

Result<std::string> x25519_public(const Secret &secret) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, bytes_of(secret.bytes()),
                                        secret.size()));
  std::string pub(k_x25519_key_size, '\0');
  size_t len = pub.size();
  if (!key ||
      EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char *>(pub.data()), &len) !=
          1 ||
      len != k_x25519_key_size)
    return fail("unable to compute an X25519 public key: " + openssl_reason());
  return pub;
}

Result<Secret> x25519_shared(const Secret &secret, std::string_view peer_public) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, bytes_of(secret.bytes()),
                                        secret.size()));
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, bytes_of(peer_public),
                                        peer_public.size()));
  if (!key || !peer) return fail("unable to load an X25519 key: " + openssl_reason());
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  std::string shared(k_x25519_key_size, '\0');
  size_t len = shared.size();
  bool ok = ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
            EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1 &&
            EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char *>(shared.data()), &len) == 1;
  Secret result(std::move(shared));
  ERR_clear_error();
  if (!ok || len != k_x25519_key_size ||
      equal_constant_time(result.bytes(), std::string(k_x25519_key_size, '\0')))
    return fail("the X25519 share is a low-order point (all-zero shared secret)");
  return result;
}

Result<Secret> hkdf_sha256(const Secret &ikm, std::string_view salt, std::string_view info,
                           size_t length) {
  char digest[] = "SHA256";
  std::array<OSSL_PARAM, 5> params{};
  size_t i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<char *>(ikm.bytes().data()), ikm.size());
  // No salt parameter at all means HashLen zero bytes, which is what an empty
  // salt means in RFC 5869; OpenSSL rejects a zero-length salt parameter.
  if (!salt.empty())
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char *>(salt.data()), salt.size());
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  const_cast<char *>(info.data()), info.size());
  params[i] = OSSL_PARAM_construct_end();
  return run_kdf("HKDF", params.data(), length);
}

Result<Secret> scrypt_derive(const Secret &passphrase, std::string_view salt, int log_n) {
  uint64_t n = uint64_t{1} << log_n;
  uint32_t r = 8, p = 1;
  // OpenSSL's default memory cap (1 GiB) stops at log_n 20; allow what N needs.
  uint64_t maxmem = 128 * uint64_t{r} * (n + 2) + 128 * uint64_t{r} * p + (1 << 20);
  std::array<OSSL_PARAM, 7> params{};
  params[0] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_PASSWORD, const_cast<char *>(passphrase.bytes().data()), passphrase.size());
  params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                const_cast<char *>(salt.data()), salt.size());
  params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
  params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
  params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
  params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
  params[6] = OSSL_PARAM_construct_end();
  return run_kdf("SCRYPT", params.data(), 32);
}

std::string hmac_sha256(const Secret &key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  size_t len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.bytes().data(), key.size(),
            bytes_of(data), data.size(), md, sizeof md, &len);
  return std::string(reinterpret_cast<char *>(md), len);
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct ChaChaPoly::Impl {
  EVP_CIPHER_CTX *enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX *dec = EVP_CIPHER_CTX_new();
  ~Impl() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
};

ChaChaPoly::ChaChaPoly(ChaChaPoly &&) noexcept = default;
ChaChaPoly &ChaChaPoly::operator=(ChaChaPoly &&) noexcept = default;
ChaChaPoly::~ChaChaPoly() = default;

Result<ChaChaPoly> ChaChaPoly::create(const Secret &key) {
  if (key.size() != 32) return fail("a ChaCha20-Poly1305 key must be 32 bytes");
  ChaChaPoly c;
  c.m_impl = std::make_unique<Impl>();
  const auto *k = bytes_of(key.bytes());
  if (!c.m_impl->enc || !c.m_impl->dec ||
      EVP_EncryptInit_ex(c.m_impl->enc, EVP_chacha20_poly1305(), nullptr, k, nullptr) != 1 ||
      EVP_DecryptInit_ex(c.m_impl->dec, EVP_chacha20_poly1305(), nullptr, k, nullptr) != 1)
    return fail("unable to set up ChaCha20-Poly1305: " + openssl_reason());
  return c;
}

Result<void> ChaChaPoly::seal(const unsigned char *nonce, const char *plain, size_t size,
                              char *out) {
  auto *ctx = m_impl->enc;
  auto *o = reinterpret_cast<unsigned char *>(out);
  int len = 0, fin = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
      (size > 0 && EVP_EncryptUpdate(ctx, o, &len, reinterpret_cast<const unsigned char *>(plain),
                                     static_cast<int>(size)) != 1) ||
      EVP_EncryptFinal_ex(ctx, o + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, k_aead_tag_size, o + size) != 1)
    return fail("unable to encrypt with ChaCha20-Poly1305: " + openssl_reason());
  return {};
}

bool ChaChaPoly::open(const unsigned char *nonce, const char *sealed, size_t size, char *out) {
  if (size < k_aead_tag_size) return false;
  auto *ctx = m_impl->dec;
  size_t body = size - k_aead_tag_size;
  auto *o = reinterpret_cast<unsigned char *>(out);
  int len = 0, fin = 0;
  bool ok =
      EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, k_aead_tag_size,
                          const_cast<char *>(sealed + body)) == 1 &&
      (body == 0 || EVP_DecryptUpdate(ctx, o, &len, reinterpret_cast<const unsigned char *>(sealed),
                                      static_cast<int>(body)) == 1) &&
      EVP_DecryptFinal_ex(ctx, o + len, &fin) == 1;
  ERR_clear_error();
  // A failed tag leaves decrypted bytes in `out`: wipe them, never release them.
  if (!ok && body > 0) OPENSSL_cleanse(out, body);
  return ok;
}

Result<std::string> seal_zero_nonce(const Secret &key, std::string_view plain) {
  TRY_ASSIGN(auto aead, ChaChaPoly::create(key));
  const unsigned char nonce[12] = {};
  std::string out(plain.size() + k_aead_tag_size, '\0');
  TRY(aead.seal(nonce, plain.data(), plain.size(), out.data()));
  return out;
}

Result<std::optional<Secret>> open_zero_nonce(const Secret &key, std::string_view sealed) {
  TRY_ASSIGN(auto aead, ChaChaPoly::create(key));
  const unsigned char nonce[12] = {};
  if (sealed.size() < k_aead_tag_size) return std::optional<Secret>();
  std::string out(sealed.size() - k_aead_tag_size, '\0');
  if (!aead.open(nonce, sealed.data(), sealed.size(), out.data())) return std::optional<Secret>();
  return std::optional<Secret>(Secret(std::move(out)));
}

} // namespace gate::util::age
