// Result<T>: a value or an Error, with TRY-style propagation (after ccache's
// util/expected.hpp). Errors carry a kind that the CLI maps to an exit code.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace gate::util {

// Why something could not be done. One table (exit_code_for) maps kinds to the
// exit codes users see; keep the two in step.
enum class ErrorKind {
  usage,           // bad command line
  config,          // bad pipeline.yml: nothing was changed
  failed,          // a check failed or an operation could not be completed
  lock_busy,       // another gate holds the backup root's lock
  rollback_failed, // data may be half-restored: a human is needed
  interrupted,     // SIGINT/SIGTERM
};

struct Error {
  ErrorKind kind = ErrorKind::failed;
  std::string message;

  // Returns a copy whose message is prefixed with `context: `.
  Error with_context(const std::string &context) const {
    return Error{kind, context + ": " + message};
  }
};

template <typename T> using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected(Error{ErrorKind::failed, std::move(message)});
}
inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected(Error{kind, std::move(message)});
}

// The process exit code for an error kind (docs/exit-codes.md).
int exit_code_for(ErrorKind kind);

} // namespace gate::util

// TRY(expr): evaluates a Result<void>-like expression and returns its error
// from the enclosing function. TRY_ASSIGN(var, expr): the same, binding the value.
#define TRY(expr)                                                                                  \
  do {                                                                                             \
    auto &&gate_try_result_ = (expr);                                                              \
    if (!gate_try_result_) return std::unexpected(std::move(gate_try_result_).error());            \
  } while (false)

// A GNU statement expression keeps TRY_ASSIGN a single statement, so it works
// as the body of an unbraced `if` and for both declarations and assignments.
#define TRY_ASSIGN(var, expr)                                                                      \
  var = ({                                                                                         \
    auto &&gate_try_result_ = (expr);                                                              \
    if (!gate_try_result_) return std::unexpected(std::move(gate_try_result_).error());            \
    std::move(*gate_try_result_);                                                                  \
  })

// TRY_CONTEXT(expr, context): like TRY, prefixing the error message with context.
#define TRY_CONTEXT(expr, context)                                                                 \
  do {                                                                                             \
    auto &&gate_try_result_ = (expr);                                                              \
    if (!gate_try_result_)                                                                         \
      return std::unexpected(std::move(gate_try_result_).error().with_context(context));           \
  } while (false)
