#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/) as Kafka headers: a publish writes
// `traceparent` (and `tracestate`) from the caller's trace; a consumer reads them back into
// message_context::trace(). Stored inline, like event_context, so a trace_context can sit in a
// designated initializer inside a co_await.
#include <txova/kafka/fixed_string.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka {

/// The header names (lowercase, as the W3C HTTP binding and OpenTelemetry's Kafka propagation use).
namespace trace_headers {
inline constexpr std::string_view traceparent = "traceparent";
inline constexpr std::string_view tracestate = "tracestate";
}  // namespace trace_headers

/// A position in a distributed trace: which trace, which span in it, and the vendors' state.
struct trace_context {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  /// For a context child() made: the span it continues. Not sent; a tracer starting a span for
  /// such a context makes it a child of parent_span_id instead (the reserved span id is replaced).
  std::array<std::uint8_t, 8> parent_span_id{};
  std::uint8_t flags = 0;  ///< trace-flags; bit 0: sampled
  /// tracestate, cut at whole list members to fit 255 bytes (the standard allows dropping members).
  fixed_string<255> state{};

  /// Neither id is all zeros.
  bool valid() const noexcept;
  bool sampled() const noexcept { return (flags & 1) != 0; }
  bool has_parent() const noexcept;

  /// `traceparent` text: "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>".
  std::string traceparent() const;
  std::string trace_id_hex() const;
  std::string span_id_hex() const;
  std::string parent_span_id_hex() const;

  /// The same trace, a fresh span id, this span as its parent, the same flags and state.
  trace_context child() const;
  /// A new trace (random ids), sampled unless told otherwise.
  static trace_context new_root(bool sampled = true);

  /// Reads a `traceparent` (and `tracestate`) value; nullopt for anything the standard says to
  /// ignore: a wrong length, uppercase or non-hex digits, version ff, all-zero ids, a version-00
  /// value with trailing text.
  static std::optional<trace_context> parse(std::string_view traceparent, std::string_view tracestate = {});

  friend bool operator==(const trace_context&, const trace_context&) = default;
};

namespace detail {
/// Writes `t` as the headers' traceparent and tracestate (none when t.state is empty), removing
/// every earlier value of either: replaced, never duplicated.
void set_trace_headers(std::vector<std::pair<std::string, std::string>>& headers, const trace_context& t);
/// Keeps the first traceparent and tracestate only (for records copied as they are: DLQ writes,
/// re-publishes).
void keep_one_trace_header(std::vector<std::pair<std::string, std::string>>& headers);
/// The trace the headers carry: nullopt with `malformed` false when there is no traceparent,
/// nullopt with `malformed` true when there is one the standard says to ignore.
std::optional<trace_context> trace_from_headers(std::optional<std::string_view> traceparent,
                                                std::optional<std::string_view> tracestate, bool& malformed);
}  // namespace detail

}  // namespace txova::kafka
