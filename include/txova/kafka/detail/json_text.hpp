#pragma once
// JSON text in and out, the way the Go services read and write it.
//
// Writing follows Go's encoding/json byte for byte (field order is the caller's; strings escape
// <, >, &, U+2028 and U+2029 and replace invalid UTF-8 with U+FFFD; float64 uses Go's shortest
// 'f'/'e' format), so an envelope we write equals the one a Go service writes for the same data.
// Reading is strict: a size limit, a depth limit, valid UTF-8, and no duplicate object keys
// (Boost.JSON and Go both keep the last duplicate silently; we reject them, because two readers
// of one message must never see different values).

#include <txova/kafka/error.hpp>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace txova::kafka::detail {

void append_quoted(std::string& out, std::string_view s);
void append_number(std::string& out, std::int64_t v);
void append_number(std::string& out, std::uint64_t v);
/// Go's float64 format. The caller rejects NaN and infinities first (JSON has no spelling).
void append_number(std::string& out, double v);
/// Compact, Go-compatible text of any JSON value; object members in their stored order.
void append_value(std::string& out, const boost::json::value& v);

/// Limits applied to untrusted JSON before and while it is parsed.
struct json_limits {
  std::size_t max_bytes = 1024 * 1024;
  unsigned max_depth = 32;
};

/// Parses untrusted text. `what` names the document in messages ("envelope", "payload").
/// The value is allocated from `storage` (the default heap unless given; the publish path passes
/// a stack-backed monotonic resource so validation allocates nothing).
boost::system::result<boost::json::value, diagnostic> parse_strict(std::string_view text,
                                                                   const json_limits& limits,
                                                                   std::string_view what,
                                                                   boost::json::storage_ptr storage = {});

/// Parses text that parse_strict (or the envelope's one-pass reader) has already accepted, such as
/// the payload of an envelope the consumer read: the same parser and numbers, without the checks
/// that only the first read needs (the UTF-8 pass for its message, the duplicate-key scan). A
/// typed route decodes its payload with it into a stack arena.
boost::system::result<boost::json::value, diagnostic> parse_accepted(std::string_view text, std::string_view what,
                                                                     boost::json::storage_ptr storage);

/// Where the value of a top-level member sits in the text of a JSON object that parse_strict
/// accepted: the exact bytes, so it can be kept (and re-sent) without rewriting. Empty when the
/// member is absent.
std::string_view raw_member(std::string_view object_text, std::string_view key);

/// True when `s` is valid UTF-8 (by Go's rules: no overlongs, surrogates or code points above
/// U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// A short, quoted preview of a JSON value for error messages: `string "abc"`, `number 12`, ...
std::string describe_value(const boost::json::value& v);

}  // namespace txova::kafka::detail
