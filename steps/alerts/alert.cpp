#include "steps/alerts/alert.hpp"

#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/http.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/redact.hpp"
#include "util/s3_parts.hpp"
#include "util/sha256.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <fmt/format.h>
#include <mutex>
#include <openssl/rand.h>
#include <thread>
#include <unistd.h>

namespace gate::steps {

std::atomic<bool> &interrupted_during_alerts() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

std::string slack_text(const nlohmann::json &p) {
  bool ok = p.value("ok", false);
  std::string where = p.value("project", "");
  if (!p.value("environment", "").empty())
    where += where.empty() ? p.value("environment", "") : "/" + p.value("environment", "");
  std::string icon = ok ? ":white_check_mark:" : ":rotating_light:";
  std::string text =
      fmt::format("{} gate {} {}{}: {}", icon, p.value("command", "run"), ok ? "passed" : "FAILED",
                  where.empty() ? "" : " on " + where, p.value("verdict", ""));
  if (p.contains("set") && p["set"].is_object() && !p["set"].value("id", "").empty())
    text += fmt::format("\nset: {}", p["set"].value("id", ""));
  if (p.contains("git") && p["git"].is_object() &&
      p["git"].value("commit", nlohmann::json()).is_string())
    text += fmt::format("\ncommit: {} ({})", p["git"]["commit"].get<std::string>().substr(0, 12),
                        p["git"].value("branch", nlohmann::json()).is_string()
                            ? p["git"]["branch"].get<std::string>()
                            : "-");
  text += fmt::format("\nhost: {}", p.value("host", ""));
  return text;
}

// Waits `how_long` between delivery attempts, or until a signal arrives.
bool wait_unless_interrupted(std::chrono::milliseconds how_long) {
  std::mutex mutex;
  std::condition_variable woken;
  bool signalled = false;
  int hook = util::add_interrupt_hook([&] {
    std::lock_guard lock(mutex);
    signalled = true;
    woken.notify_all();
  });
  {
    std::unique_lock lock(mutex);
    woken.wait_for(lock, how_long, [&] { return signalled; });
  }
  util::remove_cancel_hook(hook);
  if (signalled) interrupted_during_alerts().store(true);
  return !signalled;
}

bool send_webhook(const config::AlertConfig &alert, const std::string &body) {
  auto webhook = alert.webhook.value();
  auto secret = alert.secret.value();
  if (!webhook || !secret) {
    util::log_warn("alert not sent: {}", (!webhook ? webhook : secret).error().message);
    return false;
  }
  util::HttpOptions options;
  options.timeout = alert.timeout;
  options.interruptible = util::Interruptible::yes;
  options.ca_file = alert.ca_file;
  auto client = util::HttpClient::for_url(*webhook, options);
  std::string where = util::describe_endpoint(*webhook);
  if (!client) {
    util::log_warn("alert to {} not sent: {}", where, client.error().message);
    return false;
  }
  std::map<std::string, std::string> headers{{"User-Agent", "gate"}};
  if (!secret->empty())
    headers["X-Gate-Signature"] = "sha256=" + util::hmac_sha256_hex(*secret, body);
  std::string path = util::url_path(*webhook);
  auto deadline = std::chrono::steady_clock::now() + alert.timeout * (alert.retries + 1) +
                  std::chrono::seconds(10);
  auto backoff = std::chrono::milliseconds(200);
  std::string last;
  for (int attempt = 0; attempt <= alert.retries; ++attempt) {
    auto r = client->post(path, body, "application/json", headers);
    if (!r && r.error().kind == util::ErrorKind::interrupted) {
      util::log_warn("alert to {} not sent: interrupted", where);
      interrupted_during_alerts().store(true);
      return false;
    }
    if (r && r->status >= 200 && r->status < 300) {
      util::log_info("alert delivered to {} ({})", where, r->status);
      return true;
    }
    last = r ? fmt::format("HTTP {}", r->status) : r.error().message;
    bool retryable = !r || r->status >= 500;
    if (!retryable || attempt == alert.retries ||
        std::chrono::steady_clock::now() + backoff > deadline)
      break;
    util::log_info("alert to {} failed ({}); retrying in {} ms", where, last, backoff.count());
    if (!wait_unless_interrupted(backoff)) {
      util::log_warn("alert to {} not delivered: interrupted", where);
      return false;
    }
    backoff *= 2;
  }
  util::log_warn("alert to {} not delivered: {}", where, util::redact(last));
  return false;
}

bool run_command(const config::AlertConfig &alert, const std::string &body) {
  util::ProcessSpec spec;
  spec.argv = alert.command;
  spec.stdin_mode = util::StreamMode::pipe;
  spec.stdout_mode = util::StreamMode::log;
  spec.log_prefix = "alert: ";
  auto proc = util::Process::start(spec);
  if (!proc) {
    util::log_warn("alert command not run: {}", proc.error().message);
    return false;
  }
  // The command runs even after the interrupt that ended the run; a new signal stops it.
  int hook = util::add_interrupt_hook([p = proc->get()] {
    interrupted_during_alerts().store(true);
    p->kill_group(SIGTERM);
  });
  auto written =
      util::write_all((*proc)->stdin_fd(), body.data(), body.size(), "alert command stdin");
  (*proc)->close_stdin();
  auto status = (*proc)->wait(alert.timeout);
  util::remove_cancel_hook(hook);
  if (!written || !status || !status->ok()) {
    util::log_warn("alert command '{}' failed: {}", alert.command[0],
                   !status    ? status.error().message
                   : !written ? written.error().message
                              : status->describe());
    return false;
  }
  return true;
}

std::string new_message_id() {
  unsigned char b[12];
  if (RAND_bytes(b, sizeof b) != 1) return std::to_string(std::time(nullptr));
  std::string hex;
  for (unsigned char c : b)
    hex += fmt::format("{:02x}", c);
  return hex;
}

} // namespace

std::string alert_body(const config::AlertConfig &alert, const nlohmann::json &payload) {
  if (alert.format == config::AlertFormat::json) return util::redact(util::json_text(payload));
  std::string text = slack_text(payload);
  nlohmann::json slack{
      {"text", text},
      {"blocks", nlohmann::json::array(
                     {{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}}})}};
  return util::redact(util::json_text(slack));
}

std::string email_message(const config::EmailConfig &email, const nlohmann::json &payload) {
  bool ok = payload.value("ok", false);
  std::string where = payload.value("project", "");
  if (!payload.value("environment", "").empty())
    where += (where.empty() ? "" : "/") + payload.value("environment", "");
  std::string subject =
      fmt::format("[gate] {}{} {}", where.empty() ? "" : where + ": ",
                  ok ? "OK" : (payload.value("event", "") == "rollback" ? "ROLLBACK" : "FAILED"),
                  "gate " + payload.value("command", std::string("run")));
  bool ascii = std::all_of(subject.begin(), subject.end(),
                           [](unsigned char c) { return c >= 32 && c < 127; });
  if (!ascii) subject = "=?UTF-8?B?" + util::base64_encode(subject) + "?=";
  std::string from = email.from.empty() ? "gate@" + util::host_name() : email.from;
  char date[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
  std::string message = fmt::format(
      "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@{}>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n",
      from, util::join(email.to, ", "), subject, date, new_message_id(), util::host_name());
  message +=
      payload.value("verdict", std::string()) + "\r\n\r\n" + util::json_text(payload, 2) + "\r\n";
  return util::redact(message);
}

bool deliver_alert(const config::AlertConfig &alert, const nlohmann::json &payload) {
  if (alert.email) return run_command(alert, email_message(*alert.email, payload));
  std::string body = alert_body(alert, payload);
  if (alert.command.empty()) return send_webhook(alert, body);
  return run_command(alert, body);
}

} // namespace gate::steps
