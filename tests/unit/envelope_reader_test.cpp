// The one-pass envelope reader against the DOM path: every well-formed envelope takes the one
// pass, and on every input parse_envelope answers exactly what the DOM path answers.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/handler.hpp>

#include "../../src/envelope_reader.hpp"

#include <boost/mp11/algorithm.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace txova::kafka;
namespace fs = std::filesystem;

namespace {

const std::string good_head =
    R"({"id":"14e76828-c2d0-49ef-a986-74cee7cd1b5a","type":"ride.completed","version":"1.0","source":"ride-service",)"
    R"("timestamp":"2024-01-15T11:01:31Z","correlation_id":"2beb81d0-4724-4b1b-a95d-cb2c997c267a")";

// An envelope whose payload is `payload` and with `extra` members before it.
std::string with_payload(std::string_view payload, std::string_view extra = "") {
  std::string s = good_head;
  if (!extra.empty()) s += "," + std::string(extra);
  s += R"(,"payload":)" + std::string(payload) + "}";
  return s;
}

std::string nested(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  for (std::size_t i = 0; i < depth; ++i) s += "}";
  return s;
}

// parse_envelope and the DOM path give the same answer; returns whether the one pass took it.
bool same_answer(const std::string& text, const envelope_limits& limits = {}) {
  // The size limit is parse_envelope's to apply before either reader runs.
  const auto fast = text.size() <= limits.max_bytes ? detail::read_envelope_fast(text, limits.max_depth) : std::nullopt;
  const auto dom = detail::read_envelope_dom(text, limits);
  const auto got = parse_envelope(text, limits);
  BOOST_TEST_CONTEXT("input: " << text.substr(0, 200)) {
    if (fast) {
      // The field rules (UUID, domain.action, ...) come after either reader, so only they may
      // refuse what the one pass read.
      if (!dom) BOOST_TEST((dom.error().code == error::invalid_field), "the one pass accepted what the DOM path refuses: " << dom.error().message);
      if (dom) BOOST_TEST((*fast == *dom), "the one pass read other fields than the DOM path");
    }
    BOOST_TEST(got.has_value() == dom.has_value());
    if (got && dom) BOOST_TEST((*got == *dom));
    if (!got && !dom) {
      BOOST_TEST(got.error().code == dom.error().code);
      BOOST_TEST(got.error().field == dom.error().field);
      BOOST_TEST(got.error().message == dom.error().message);
    }
  }
  return fast.has_value();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(envelope_one_pass)

BOOST_AUTO_TEST_CASE(every_golden_envelope_takes_the_one_pass) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TXOVA_TEST_DATA_DIR) / "envelopes")) {
    const std::string text = read_file(entry.path());
    BOOST_TEST_CONTEXT(entry.path().filename()) { BOOST_TEST(same_answer(text)); }
    ++n;
  }
  BOOST_TEST(n >= 20u);
}

BOOST_AUTO_TEST_CASE(ordinary_variations_take_the_one_pass) {
  for (const std::string& text : {
           with_payload("{}"),
           with_payload(R"({"a":[1,-2.5e-3,0,-0,1E+2,true,false,null,"x"],"b":{"c":{}}})"),
           with_payload(R"({"s":"caf\u00e9 \"q\" \\ \/ \b\f\n\r\t","u":"\u0000","t":"ação ✓ 😀"})"),
           with_payload("{}", R"("causation_id":null,"actor":null)"),
           with_payload("{}", R"("causation_id":"53f886a9-3778-4a2c-afc6-95c3edefbec6","actor":{"id":"u-1","type":"user","extra":[1]})"),
           with_payload("{}", R"("unknown":{"deep":[{"x":1}]},"also":"\u00e9")"),
           " \n\t" + with_payload(" { \"a\" : 1 } ") + " \r\n",
           with_payload(nested(20)),
       })
    BOOST_TEST(same_answer(text));
}

BOOST_AUTO_TEST_CASE(unusual_and_broken_input_gets_the_dom_paths_answer) {
  std::vector<std::string> inputs = {
      "", " ", "[]", "null", "{}", "{", good_head, good_head + "}",
      with_payload("{}") + "x", with_payload("{}") + "{}", "\xEF\xBB\xBF" + with_payload("{}"),
      with_payload("[]"), with_payload("null"), with_payload("\"{}\""),
      with_payload(R"({"a":1,"a":2})"), with_payload(R"({"a":1,"\u0061":2})"), with_payload("{}", R"("id":"x")"),
      with_payload(R"({"a":01})"), with_payload(R"({"a":-})"), with_payload(R"({"a":1.})"), with_payload(R"({"a":.5})"),
      with_payload(R"({"a":+1})"), with_payload(R"({"a":1e})"), with_payload(R"({"a":1e400})"), with_payload(R"({"a":-1e400})"),
      with_payload(R"({"a":1e-400})"), with_payload(R"({"a":1e99999999})"), with_payload(R"({"a":)" + std::string(400, '9') + "}"),
      with_payload(R"({"a":"\ud83d\ude00"})"), with_payload(R"({"a":"\ud800"})"), with_payload(R"({"a":"\udc00x"})"),
      with_payload(R"({"a":"\x"})"), with_payload(R"({"a":"\u12"})"), with_payload("{\"a\":\"tab\there\"}"),
      with_payload("{\"a\":\"\x7f\"}"), with_payload("{\"a\":\"\xff\"}"), with_payload("{\"a\":\"\xc0\xaf\"}"),
      with_payload("{\"a\":\"\xed\xa0\x80\"}"), with_payload("{\"a\":\"\xf4\x90\x80\x80\"}"), with_payload("{\"a\":\"\xe2\x82\"}"),
      with_payload("{\"\xff\":1}"), with_payload("{} \xff"), with_payload(R"({"a":tru})"), with_payload(R"({"a":nul})"),
      with_payload(R"({"a":[1,]})"), with_payload(R"({"a":1,})"), with_payload(R"({,})"), with_payload(R"({"a" 1})"),
      with_payload("{}", R"("actor":{"id":"u-1"})"), with_payload("{}", R"("actor":{"id":null,"type":"user"})"),
      with_payload("{}", R"("actor":"user")"), with_payload("{}", R"("actor":{"id":"u-1","type":"robot"})"),
      with_payload("{}", R"("causation_id":7)"), with_payload("{}", R"("causation_id":"")"),
      with_payload("{}", R"("source\u0000":1)"),
      R"({"id":"14e76828-c2d0-49ef-a986-74cee7cd1b5a","type":"ride.completed","version":"1.0","source":"ride-service","timestamp":"2024-01-15T11:01:31+02:00","correlation_id":"c","payload":{}})",
      R"({"id":"14e76828-c2d0-49ef-a986-74cee7cd1b5a","type":"Ride.completed","version":"1.0","source":"s","timestamp":"2024-01-15T11:01:31Z","correlation_id":"c","payload":{}})",
      R"({"id":"14e76828-c2d0-19ef-a986-74cee7cd1b5a","type":"ride.completed","version":"1","source":"s","timestamp":"2024-01-15T11:01:31Z","correlation_id":"c","payload":{}})",
      R"({"id":"14e76828-c2d0-49ef-a986-74cee7cd1b5a","type":"ride.completed","version":"1.0","source":"s","timestamp":null,"correlation_id":"c","payload":{}})",
      R"({"id":"\u0031","type":"ride.completed","version":"1.0","source":"s","timestamp":"2024-01-15T11:01:31Z","correlation_id":"c","payload":{}})",
      R"({"id":"14e76828-c2d0-49ef-a986-74cee7cd1b5a","type":"ride.completed","version":"1.0","source":"","timestamp":"2024-01-15T11:01:31Z","correlation_id":"c","payload":{}})",
  };
  for (std::size_t depth : {29u, 30u, 31u, 32u, 33u, 20000u}) inputs.push_back(with_payload(nested(depth)));
  std::string many_keys = "{";
  for (int i = 0; i < 100; ++i) many_keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  inputs.push_back(with_payload(many_keys + "}"));
  inputs.push_back(with_payload(many_keys + ",\"k7\":0}"));
  for (const auto& text : inputs) {
    same_answer(text);
    // The same one pass over any document, as the publish path uses it for payloads.
    if (detail::accepted_fast(text, {})) BOOST_TEST(detail::parse_strict(text, {}, "doc").has_value(), text.substr(0, 120));
  }
  // Limits of the caller's own.
  same_answer(with_payload(nested(10)), {.max_depth = 8});
  same_answer(with_payload(nested(6)), {.max_depth = 8});
  same_answer(with_payload("{}"), {.max_bytes = 100});
  same_answer(with_payload("{}", R"("actor":{"id":"u-1","type":"robot"})"), {.strict = false});
}

BOOST_AUTO_TEST_CASE(every_truncation_of_an_envelope_gets_the_dom_paths_answer) {
  const std::string text = with_payload(R"({"ride_id":"r-1","fare":{"amount":35000,"currency":"MZN"},"tags":["a","\u00e9"]})",
                                        R"("actor":{"id":"u-1","type":"user"})");
  for (std::size_t n = 0; n < text.size(); ++n) {
    same_answer(text.substr(0, n));
    if (detail::accepted_fast(text.substr(0, n), {})) BOOST_TEST(detail::parse_strict(text.substr(0, n), {}, "doc").has_value());
    std::string flipped = text;
    flipped[n] = static_cast<char>(flipped[n] ^ 0x20);
    same_answer(flipped);
  }
}

BOOST_AUTO_TEST_CASE(a_typed_route_decodes_what_payload_as_decodes) {
  // Typed routes decode an accepted payload without the first read's checks, into an arena:
  // the same values and the same errors as payload_as.
  std::size_t decoded = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TXOVA_TEST_DATA_DIR) / "envelopes")) {
    const auto e = parse_envelope(read_file(entry.path()));
    BOOST_TEST_REQUIRE(e.has_value());
    boost::mp11::mp_for_each<boost::mp11::mp_transform<boost::mp11::mp_identity, events::all>>([&](auto t) {
      using T = typename decltype(t)::type;
      if (T::info.type != e->type) return;
      auto a = payload_as<T>(*e);
      auto b = detail::decode_accepted_payload<T>(*e);
      BOOST_TEST_CONTEXT(entry.path().filename()) {
        BOOST_TEST_REQUIRE(a.has_value() == b.has_value());
        if (a) BOOST_TEST(to_json_text(*a) == to_json_text(*b));
        ++decoded;
      }
    });
  }
  BOOST_TEST(decoded >= 20u);
  envelope wrong = parse_envelope(with_payload(R"({"ride_id":"r-1","end_time":"2024-01-15T11:01:30Z","distance_km":"12","duration_mins":23,"fare":{"amount":1,"currency":"MZN"}})")).value();
  auto a = payload_as<events::ride_completed>(wrong);
  auto b = detail::decode_accepted_payload<events::ride_completed>(wrong);
  BOOST_TEST_REQUIRE(!a.has_value());
  BOOST_TEST_REQUIRE(!b.has_value());
  BOOST_TEST(a.error().message == b.error().message);
  BOOST_TEST(b.error().field == "payload.distance_km");
}

BOOST_AUTO_TEST_SUITE_END()
