// Running many small pieces of work (a set's objects to upload) on a fixed,
// small number of threads: each thread takes the next piece when it is done
// with one, so at most `workers` run at once whatever their count.
#pragma once

#include "util/expected.hpp"

#include <cstddef>
#include <functional>

namespace gate::util {

// Runs fn(i, worker) for every i in [0, n) on at most `workers` threads;
// `worker` (in [0, workers)) says which thread runs it, so a caller can give
// each thread its own connection. Once a piece fails, or an interrupt was
// requested, no further piece starts (those running finish). Returns the
// error of the lowest index that failed (an exception counts as a failure),
// an interrupted error when pieces were left out for an interrupt, or success.
Result<void> for_each_bounded(size_t n, size_t workers,
                              const std::function<Result<void>(size_t i, size_t worker)> &fn);

} // namespace gate::util
