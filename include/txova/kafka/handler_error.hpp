#pragma once
// How a handler says what kind of failure it hit, and what the consumer does about it.
// Sans-IO: the decision is a pure function of the failure, the attempt and the policy.
//
//   throw transient_error("payments db timed out");   // retried with backoff, then DLQ
//   throw permanent_error("ride has no driver");       // DLQ at once
//   throw business_error("ride already refunded");     // logged, committed, moved on
//
// Anything else thrown counts as transient, except the library's own decoding errors
// (diagnostic_error: the payload does not decode for a typed handler), which are permanent.
#include <txova/kafka/retry.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>

namespace txova::kafka {

/// May succeed if tried again: retried with backoff, then dead-lettered.
struct transient_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// Will fail the same way again: dead-lettered at once.
struct permanent_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// A rule of the domain said no: logged, committed, not retried.
struct business_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The three kinds of handler failure.
enum class handler_failure { transient, permanent, business };

/// A handler failure's kind and what it said.
struct classified_failure {
  handler_failure kind = handler_failure::transient;
  std::string message{};  ///< what the handler said (what() of the exception)
};

/// The kind and message of what a handler threw.
classified_failure classify_handler_failure(std::exception_ptr e) noexcept;

namespace detail {

/// What the consumer does with a failed record.
enum class next_step { retry, dead_letter, skip };

/// The next step, and for a retry the delay before it.
struct failure_decision {
  next_step step{};
  std::chrono::milliseconds delay{0};  ///< before the retry
};

/// What to do after attempt `attempt` (1-based) failed with `kind`: transient failures are
/// retried up to `max_retries` times with `backoff`, then dead-lettered; permanent ones are
/// dead-lettered at once; business ones are skipped (committed).
failure_decision decide(handler_failure kind, int attempt, int max_retries, const backoff_policy& backoff,
                        double unit_random) noexcept;

}  // namespace detail
/// The error.type label of an error: librdkafka's error name ("_MSG_TIMED_OUT",
/// "TOPIC_AUTHORIZATION_FAILED"), ours ("invalid_field"), else "<category>:<value>".
std::string error_type(const boost::system::error_code& ec);
/// The error.type of a failed handler attempt: "transient", "permanent", "business", "timeout"
/// (cancelled at the handler timeout), error_type() of a system_error, "exception" or "unknown".
std::string error_type_of(const std::exception_ptr& failure);

}  // namespace txova::kafka
