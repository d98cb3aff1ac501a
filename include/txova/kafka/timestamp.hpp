#pragma once
// UTC instants as the envelope carries them: RFC 3339 with a `Z`, nanosecond precision.

#include <txova/kafka/error.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace txova::kafka {

/// A UTC instant with the precision Go's time.Time marshals (nanoseconds).
using timestamp = std::chrono::sys_time<std::chrono::nanoseconds>;

/// The current UTC time.
timestamp now_utc() noexcept;

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (1 to 9 fraction digits). Any other offset,
/// `+00:00` included, is rejected with a message that shows the offset: envelopes are UTC by
/// contract and silently converting would hide a producer's bug. `field` names the field in the
/// diagnostic.
boost::system::result<timestamp, diagnostic> parse_timestamp(std::string_view text,
                                                             std::string_view field = "timestamp");

/// Formats like Go's `time.RFC3339Nano` on a UTC time: trailing zeros of the fraction trimmed,
/// no fraction when it is zero, always `Z`. Byte-compatible with what the Go services write.
std::string format_timestamp(timestamp t);

/// Appends format_timestamp(t) to out.
void append_timestamp(std::string& out, timestamp t);

}  // namespace txova::kafka
