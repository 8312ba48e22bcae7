#include "steps/alerts/healthcheck.hpp"

#include "util/fs.hpp"
#include "util/http.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/text.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <thread>

namespace gate::steps {

namespace {

// The URL without its query: healthchecks.io adds /start and /fail to the
// path; an Uptime Kuma push URL is often copied with ?status=up&msg=OK&ping=.
std::string without_query(const std::string &url) {
  return url.substr(0, url.find('?'));
}

bool send(const config::HealthcheckConfig &h, const std::string &url, const std::string &body,
          bool get) {
  util::HttpOptions options;
  options.timeout = h.timeout;
  options.interruptible = util::Interruptible::yes;
  std::string where = util::describe_endpoint(h.url);
  auto client = util::HttpClient::for_url(url, options);
  if (!client) {
    util::log_warn("health check ping to {} not sent: {}", where, client.error().message);
    return false;
  }
  std::string path = util::url_path(url), last;
  for (int attempt = 0; attempt <= h.retries; ++attempt) {
    auto r = get ? client->get(path) : client->post(path, body, "text/plain");
    if (r && r->status >= 200 && r->status < 300) return true;
    last = r ? fmt::format("HTTP {}", r->status) : r.error().message;
    if (!r && r.error().kind == util::ErrorKind::interrupted) break;
    if (attempt < h.retries) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
  }
  util::log_warn("health check ping to {} failed: {}", where, util::redact(last));
  return false;
}

std::string tail_lines(const std::string &text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t start = text.find('\n', text.size() - limit);
  return start == std::string::npos ? text.substr(text.size() - limit) : text.substr(start + 1);
}

} // namespace

std::string new_run_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1)
    for (auto &c : b)
      c = static_cast<unsigned char>(std::rand());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40); // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  std::string hex;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", b[i]);
  }
  return hex;
}

std::string ping_body(const RunSummary &run, size_t limit) {
  std::string body = run.verdict + "\n";
  std::string log;
  if (!run.set_dir.empty())
    if (auto text = util::read_file(run.set_dir / "gate.log"); text) log = *text;
  body = util::redact(body);
  std::string masked = util::redact(log);
  if (!masked.empty() && body.size() + 8 < limit)
    body += "\nlog:\n" + tail_lines(masked, limit - body.size() - 6);
  return body.substr(0, limit);
}

void ping_start(const config::PipelineConfig &config, const std::string &run_id) {
  for (const auto &h : config.healthchecks)
    if (h.format == config::PingFormat::healthchecks)
      send(h, without_query(h.url) + "/start?rid=" + run_id, "", false);
}

void ping_end(const config::PipelineConfig &config, const std::string &run_id,
              const RunSummary &run) {
  for (const auto &h : config.healthchecks) {
    if (h.format == config::PingFormat::healthchecks) {
      send(h, without_query(h.url) + (run.ok ? "" : "/fail") + "?rid=" + run_id, ping_body(run),
           false);
    } else {
      std::string msg = util::redact(run.verdict).substr(0, 200);
      send(h,
           fmt::format("{}?status={}&msg={}&ping={}", without_query(h.url), run.ok ? "up" : "down",
                       util::url_encode(msg), run.duration_ms),
           "", true);
    }
  }
}

} // namespace gate::steps
