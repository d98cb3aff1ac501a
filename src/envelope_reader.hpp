#pragma once
// The envelope's fast path (envelope_reader.cpp): one pass that reads a well-formed envelope.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/detail/json_text.hpp>

#include <optional>
#include <string_view>

namespace txova::kafka::detail {

/// Reads `text` as an envelope in one pass: UTF-8, JSON structure, nesting depth and duplicate
/// keys checked as strictly as parse_strict checks them, the known fields read in place, the
/// payload's span found. The field rules (check_fields) are the caller's.
///
/// Gives up (nullopt) on every error and on what it does not handle itself (escaped keys or
/// fields, \u escapes of surrogates, very large objects or numbers, nesting near the limit), and
/// parse_envelope then takes the DOM path, which accepts or produces the diagnostic. So this
/// never accepts what the DOM path refuses, and what it reads equals what the DOM path reads: the
/// envelope tests and the fuzzer compare the two.
std::optional<envelope> read_envelope_fast(std::string_view text, unsigned max_depth);

/// True when one pass finds `text` a JSON document parse_strict accepts under `limits` (UTF-8,
/// grammar, depth, no duplicate keys); false when parse_strict must decide (errors, and what the
/// one pass gives up on). Then parse_accepted builds its value without checking again.
bool accepted_fast(std::string_view text, const json_limits& limits);

/// The DOM path: parse_strict, then the fields from the value. Every diagnostic comes from here.
boost::system::result<envelope, diagnostic> read_envelope_dom(std::string_view text, const envelope_limits& limits);

}  // namespace txova::kafka::detail
