// Following a file while it is written: the writer announces how far it got,
// a reader reads up to there and waits for more. Verification can thus read
// a backup back from disk while it is still being written, instead of after.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace gate::util {

class GrowthSignal {
public:
  // Writer: the file now holds `total` bytes.
  void wrote(uint64_t total);
  // Writer: no more bytes will come; `ok` false when the write was abandoned.
  void finish(bool ok);

  struct State {
    uint64_t total = 0;
    bool finished = false;
    bool ok = true;
  };
  // Reader: waits until the file holds more than `have` bytes or is finished.
  State wait_beyond(uint64_t have);

private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  State m_state;
};

} // namespace gate::util
