// libFuzzer target for parse_envelope. Beyond "never crashes", it checks the invariants the
// wire contract relies on: an accepted envelope validates, serializes to text that parses back
// to the same envelope, and keeps its payload bytes; typed decoding of any accepted payload
// either succeeds or fails with a diagnostic that names a field.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/topics.hpp>

#include "../../src/envelope_reader.hpp"

#include <txova/kafka/detail/json_text.hpp>

#include <boost/mp11/algorithm.hpp>

#include <cstdio>
#include <cstdlib>

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace txova::kafka;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_envelope(text, {64 * 1024, 32});
  // The one pass never accepts what the DOM path refuses, and reads the same fields; the answer
  // of parse_envelope (which tries the one pass first) is the DOM path's, message for message.
  auto dom = detail::read_envelope_dom(text, {64 * 1024, 32});
  if (auto fast = detail::read_envelope_fast(text, 32); fast && size <= 64 * 1024) {
    // Only the field rules, which come after either reader, may refuse what it read.
    check(dom.has_value() || dom.error().code == error::invalid_field, "the one pass accepted what the DOM path refuses");
    check(!dom.has_value() || *fast == *dom, "the one pass read other fields than the DOM path");
  }
  check(parsed.has_value() == dom.has_value(), "parse_envelope and the DOM path agree on acceptance");
  // The same one pass over any document (the publish path's payload check) accepts only what
  // parse_strict accepts.
  if (detail::accepted_fast(text, {64 * 1024, 32}))
    check(detail::parse_strict(text, {64 * 1024, 32}, "doc").has_value(), "the one pass accepted a document parse_strict refuses");
  if (!parsed) check(parsed.error().message == dom.error().message, "parse_envelope gives the DOM path's diagnostic");
  else check(*parsed == *dom, "parse_envelope reads what the DOM path reads");
  if (!parsed) {
    check(parsed.error().code.failed(), "a failed parse carries an error code");
    check(!parsed.error().message.empty(), "a failed parse carries a message");
    return 0;
  }
  const envelope& e = *parsed;
  check(!validate(e), "an accepted envelope validates");
  check(text.find(e.payload) != std::string_view::npos, "the payload is a verbatim slice of the input");

  const std::string json = to_json(e);
  auto again = parse_envelope(json, {1 << 20, 32});
  check(again.has_value(), "serialized envelope parses");
  check(*again == e, "serialize/parse round trip is exact");
  check(to_json(*again) == json, "serialization is a fixed point");

  (void)partition_key(e);
  boost::mp11::mp_for_each<boost::mp11::mp_transform<boost::mp11::mp_identity, events::all>>([&](auto t) {
    using T = typename decltype(t)::type;
    if (T::info.type != e.type) return;
    auto typed = payload_as<T>(e);
    if (!typed) {
      check(typed.error().field.rfind("payload", 0) == 0, "payload errors name a payload field");
      return;
    }
    const std::string re = to_json_text(*typed);
    auto back = from_json_text<T>(re);
    check(back.has_value(), "a decoded payload re-encodes to decodable JSON");
    check(to_json_text(*back) == re, "typed payload encoding is a fixed point");
  });
  return 0;
}
