#pragma once
// Retry policy: exponential backoff with jitter, and which failures are worth retrying.
// Sans-IO: the schedule is a pure function of the attempt number and a random draw.
#include <boost/system/error_code.hpp>

#include <chrono>

namespace txova::kafka {

/// Delay before retry n (1-based): min(max, initial * multiplier^(n-1)), then jittered down by
/// up to `jitter` of itself ("equal jitter" at 0.5), so clients that failed together do not
/// retry together, and the delay never exceeds the exponential bound.
struct backoff_policy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
  double multiplier = 2.0;
  double jitter = 0.5;  ///< fraction in [0, 1]

  /// `unit_random` in [0, 1): 0 gives the full delay, values near 1 the most jitter.
  std::chrono::milliseconds delay(int retry, double unit_random) const noexcept;
  /// With a random draw from a per-thread generator.
  std::chrono::milliseconds delay(int retry) const;
};

enum class failure_kind {
  transient,  ///< may succeed if tried again (broker down, timeout, leader moving)
  permanent,  ///< will fail again the same way (too large, not authorized, invalid)
};

/// Classifies a delivery error: librdkafka codes by their meaning, our validation errors as
/// permanent, anything unknown as transient (retrying an unknown error is the safe side for
/// at-least-once; the retry budget bounds it).
failure_kind classify(const boost::system::error_code& ec) noexcept;

namespace detail {
/// A draw in [0, 1) from a per-thread generator: the jitter of delay(int) and of the consumer's
/// retries.
double unit_random();
}  // namespace detail

}  // namespace txova::kafka
