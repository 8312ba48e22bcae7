// HTTP peers that misbehave, for alerts: one that accepts and never answers,
// one that answers 500 forever, one that closes in the middle of its body.
// A delivery problem is a warning naming the alert: the verdict and exit
// code stay those of the run, and the time is bounded by the alert's
// timeout x (retries + 1), from the configuration, not by the peer.
#include "faults/fault_project.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace gate::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

enum class Misbehaviour { never_answer, answer_500, close_mid_body };

// A loopback HTTP peer that reads each request and then misbehaves.
class BadPeer {
public:
  explicit BadPeer(Misbehaviour how) : m_how(how) {
    m_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(m_listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(m_listener, reinterpret_cast<sockaddr *>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    ::listen(m_listener, 16);
    m_thread = std::thread([this] { serve(); });
  }
  ~BadPeer() {
    m_stop = true;
    m_thread.join();
    for (int fd : m_open)
      ::close(fd);
    ::close(m_listener);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/hook"; }
  int requests() const { return m_requests; }

private:
  void serve() {
    while (!m_stop) {
      pollfd p{m_listener, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept(m_listener, nullptr, nullptr);
      if (fd < 0) continue;
      ++m_requests;
      char buf[8192];
      (void)::read(fd, buf, sizeof buf); // the request (small: one read)
      respond(fd);
    }
  }
  void respond(int fd) {
    std::string reply;
    if (m_how == Misbehaviour::answer_500)
      reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: "
              "close\r\n\r\noops!";
    if (m_how == Misbehaviour::close_mid_body)
      reply = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{\"ok\": tr";
    if (m_how == Misbehaviour::never_answer) {
      m_open.push_back(fd); // kept open, silent
      return;
    }
    (void)::write(fd, reply.data(), reply.size());
    ::close(fd);
  }

  Misbehaviour m_how;
  int m_listener = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_requests{0};
  std::vector<int> m_open;
  std::thread m_thread;
};

// A good run whose success alert goes to `peer` (timeout 1 s, 1 retry).
void expect_run_unaffected(Misbehaviour how, const std::string &said) {
  BadPeer peer(how);
  FaultProject p(std::string("peer_") + std::to_string(static_cast<int>(how)), {});
  ProjectOptions o;
  o.extra =
      "alerts:\n  - {webhook: '" + peer.url() + "', on: [success], timeout: 1s, retries: 1}\n";
  p.configure(o);
  auto start = std::chrono::steady_clock::now();
  auto r = p.gate({"run"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 0) << r.all();
  EXPECT_THAT(r.out, HasSubstr("OK: set"));
  EXPECT_THAT(r.err, HasSubstr(said)) << r.all();
  EXPECT_THAT(r.all(), Not(HasSubstr(peer.url()))) << "a webhook URL is a secret";
  EXPECT_EQ(peer.requests(), 2) << "one attempt and one retry";
  EXPECT_LT(took, std::chrono::seconds(20));
}

} // namespace

TEST(Peers, AnAlertReceiverThatNeverAnswersIsGivenUpAfterItsTimeout) {
  expect_run_unaffected(Misbehaviour::never_answer, "warning");
}

TEST(Peers, AnAlertReceiverAnswering500ForeverIsAWarningAfterItsRetries) {
  expect_run_unaffected(Misbehaviour::answer_500, "500");
}

TEST(Peers, AnAlertReceiverThatClosesMidBodyIsAWarningNotAHang) {
  expect_run_unaffected(Misbehaviour::close_mid_body, "warning");
}
