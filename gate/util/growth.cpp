#include "util/growth.hpp"

namespace gate::util {

void GrowthSignal::wrote(uint64_t total) {
  {
    std::lock_guard lock(m_mutex);
    m_state.total = total;
  }
  m_cv.notify_all();
}

void GrowthSignal::finish(bool ok) {
  {
    std::lock_guard lock(m_mutex);
    m_state.finished = true;
    m_state.ok = ok;
  }
  m_cv.notify_all();
}

GrowthSignal::State GrowthSignal::wait_beyond(uint64_t have) {
  std::unique_lock lock(m_mutex);
  m_cv.wait(lock, [&] { return m_state.total > have || m_state.finished; });
  return m_state;
}

} // namespace gate::util
