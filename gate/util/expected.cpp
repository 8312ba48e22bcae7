#include "util/expected.hpp"

namespace gate::util {

int exit_code_for(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::usage:
  case ErrorKind::config:
    return 2;
  case ErrorKind::failed:
    return 1;
  case ErrorKind::lock_busy:
    return 3;
  case ErrorKind::rollback_failed:
    return 4;
  case ErrorKind::interrupted:
    return 130;
  }
  return 1;
}

} // namespace gate::util
