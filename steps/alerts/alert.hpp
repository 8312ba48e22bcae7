// Alerts: a JSON (or Slack) payload POSTed to a webhook, signed with
// X-Gate-Signature: sha256=<HMAC-SHA256 of the exact body> when a secret is
// set, retried with backoff on connection errors and 5xx; or the JSON handed
// to a command on stdin (sendmail -t, a pager CLI). A delivery problem is a
// warning: it never changes a verdict or an exit code.
#pragma once

#include "config/pipeline.hpp"

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

namespace gate::steps {

// The body sent for `payload` in the alert's format (json as is; slack: a
// `text` summary plus blocks).
std::string alert_body(const config::AlertConfig &alert, const nlohmann::json &payload);

// The RFC 5322 message of an email alert: Subject with project, environment
// and verdict, the verdict and the JSON summary as text, secrets masked.
std::string email_message(const config::EmailConfig &email, const nlohmann::json &payload);

// Delivers one alert; returns false (after logging a warning) when it could
// not be delivered. Never throws, never blocks longer than the alert's
// timeout times its attempts.
bool deliver_alert(const config::AlertConfig &alert, const nlohmann::json &payload);

// Set once a SIGINT/SIGTERM arrived while alerts were being delivered: the
// delivery stopped within a moment and the command must exit 130.
std::atomic<bool> &interrupted_during_alerts();

} // namespace gate::steps
