// SIGINT/SIGTERM become a cooperative cancellation: a dedicated thread waits
// for them and calls util::request_cancel(), which stops child processes and
// makes long loops return "interrupted" (exit 130).
#pragma once

namespace gate::cli {

// Blocks the signals in the calling (main) thread, so every later thread
// inherits the mask, and starts the waiting thread.
void start_signal_thread();
void stop_signal_thread();

} // namespace gate::cli
