#include <txova/kafka/detail/json_text.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <charconv>
#include <limits>
#include <string>

using namespace txova::kafka;
namespace jt = txova::kafka::detail;

namespace {
std::string quoted(std::string_view s) {
  std::string out;
  jt::append_quoted(out, s);
  return out;
}
std::string num(double v) {
  std::string out;
  jt::append_number(out, v);
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(json_text)

// Expected strings are what Go's json.Marshal produces for the same input.
BOOST_AUTO_TEST_CASE(strings_escape_like_go) {
  BOOST_TEST(quoted("plain") == R"("plain")");
  BOOST_TEST(quoted("a\"b\\c") == R"("a\"b\\c")");
  BOOST_TEST(quoted("<a href=\"x\">&</a>") == R"("\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e")");
  BOOST_TEST(quoted("tab\tnl\ncr\rbs\bff\f") == R"("tab\tnl\ncr\rbs\bff\f")");
  BOOST_TEST(quoted(std::string("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  BOOST_TEST(quoted("M\xc3\xa3" "e \xf0\x9f\x9a\x97") == "\"M\xc3\xa3" "e \xf0\x9f\x9a\x97\"");
  BOOST_TEST(quoted("line\xe2\x80\xa8sep\xe2\x80\xa9") == R"("line\u2028sep\u2029")");
  BOOST_TEST(quoted("bad\xff" "byte") == R"("bad\ufffdbyte")");
  BOOST_TEST(quoted("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");  // a UTF-16 surrogate is invalid UTF-8
  BOOST_TEST(quoted("\x7f") == "\"\x7f\"");
}

BOOST_AUTO_TEST_CASE(floats_format_like_go) {
  BOOST_TEST(num(12.5) == "12.5");
  BOOST_TEST(num(12) == "12");
  BOOST_TEST(num(-25.9692) == "-25.9692");
  BOOST_TEST(num(0.1) == "0.1");
  BOOST_TEST(num(0) == "0");
  BOOST_TEST(num(-0.0) == "-0");
  BOOST_TEST(num(1e20) == "100000000000000000000");
  BOOST_TEST(num(1e21) == "1e+21");
  BOOST_TEST(num(0.000001) == "0.000001");
  BOOST_TEST(num(1e-7) == "1e-7");
  BOOST_TEST(num(1.5e-10) == "1.5e-10");
  BOOST_TEST(num(123456789.125) == "123456789.125");
}

BOOST_AUTO_TEST_CASE(values_write_compact_in_stored_order) {
  auto v = boost::json::parse(R"({ "z": [1, 2.5, -3, true, null], "a": {"k": "<v>"}, "u": 18446744073709551615 })");
  std::string out;
  jt::append_value(out, v);
  BOOST_TEST(out == R"({"z":[1,2.5,-3,true,null],"a":{"k":"\u003cv\u003e"},"u":18446744073709551615})");
}

BOOST_AUTO_TEST_CASE(numbers_parse_to_the_nearest_double_like_go) {
  // Go's strconv.ParseFloat rounds correctly; Boost.JSON 1.81 alone gives -25.969266666666663 for
  // the first and -25.96926666666667 for the second (found by the envelope fuzzer).
  for (const std::string text : {"-25.969266666666666", "-25.969266666666667", "32.573199999999996",
                                 "-25.969266666666666666666666666666666666666666666666666666666666660",
                                 "1.7976931348623157e308", "5e-324", "0.1", "-0.0", "123456789012345678901234567890"}) {
    double expected = 0;
    std::from_chars(text.data(), text.data() + text.size(), expected);
    auto v = jt::parse_strict("{\"x\":" + text + "}", {1024, 8}, "doc");
    BOOST_TEST_REQUIRE(v.has_value(), text);
    BOOST_TEST(v->as_object().at("x").to_number<double>() == expected, text);
    // And what we write for it reads back as itself: encoding is a fixed point.
    auto again = jt::parse_strict("{\"x\":" + num(expected) + "}", {1024, 8}, "doc");
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST(again->as_object().at("x").to_number<double>() == expected, num(expected));
  }
}

BOOST_AUTO_TEST_CASE(strict_parse_rejects_bad_input_with_clear_messages) {
  const jt::json_limits limits{64, 4};
  auto dup = jt::parse_strict(R"({"a":1,"b":{"c":1,"c":2}})", limits, "doc");
  BOOST_TEST_REQUIRE(!dup.has_value());
  BOOST_TEST(dup.error().code == error::duplicate_key);
  BOOST_TEST(dup.error().field == "doc.b.c");
  BOOST_TEST(dup.error().message.find("\"b.c\" more than once") != std::string::npos, dup.error().message);

  auto escaped_dup = jt::parse_strict(R"({"ab":1,"a\u0062":2})", limits, "doc");
  BOOST_TEST_REQUIRE(!escaped_dup.has_value());
  BOOST_TEST(escaped_dup.error().code == error::duplicate_key);

  auto in_array = jt::parse_strict(R"([{"x":1},{"x":1,"x":2}])", limits, "doc");
  BOOST_TEST_REQUIRE(!in_array.has_value());
  BOOST_TEST(in_array.error().field == "doc.[1].x");

  auto big = jt::parse_strict(std::string(65, ' '), limits, "doc");
  BOOST_TEST_REQUIRE(!big.has_value());
  BOOST_TEST(big.error().code == error::too_large);
  BOOST_TEST(big.error().message == "doc is 65 bytes, over the 64-byte limit");

  auto deep = jt::parse_strict("[[[[[1]]]]]", limits, "doc");
  BOOST_TEST_REQUIRE(!deep.has_value());
  BOOST_TEST(deep.error().code == error::too_deep);

  auto utf8 = jt::parse_strict("{\"a\":\"\xc3\x28\"}", limits, "doc");
  BOOST_TEST_REQUIRE(!utf8.has_value());
  BOOST_TEST(utf8.error().code == error::invalid_json);
  BOOST_TEST(utf8.error().message == "doc is not valid UTF-8: byte 0xc3 at offset 6");

  auto overlong = jt::parse_strict("\"\xc0\xaf\"", limits, "doc");
  BOOST_TEST(!overlong.has_value());

  for (const char* bad : {"", "{", "{\"a\":}", "{\"a\":1,}", "[1 2]", "nul", "{\"a\":1} x", "'a'", "{a:1}"}) {
    auto r = jt::parse_strict(bad, limits, "doc");
    BOOST_TEST_REQUIRE(!r.has_value(), bad);
    BOOST_TEST(r.error().code == error::invalid_json, bad);
    BOOST_TEST(r.error().message.rfind("doc is", 0) == 0, r.error().message);
  }
}

BOOST_AUTO_TEST_CASE(large_objects_are_checked_in_linear_time) {
  std::string doc = "{";
  for (int i = 0; i < 50000; ++i) doc += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  doc += ",\"k123\":2}";
  auto r = jt::parse_strict(doc, {1 << 20, 8}, "doc");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().field == "doc.k123");
}

BOOST_AUTO_TEST_CASE(raw_member_returns_exact_bytes) {
  const std::string text = R"({"a" : 1, "payload" :  { "x" : [1, {"y":"}"}] , "z":"\"}"} , "b":2})";
  BOOST_TEST(jt::raw_member(text, "payload") == R"({ "x" : [1, {"y":"}"}] , "z":"\"}"})");
  BOOST_TEST(jt::raw_member(text, "b") == "2");
  BOOST_TEST(jt::raw_member(text, "missing").empty());
  BOOST_TEST(jt::raw_member(R"({"p\u0061yload":{"k":1}})", "payload") == R"({"k":1})");
}

BOOST_AUTO_TEST_SUITE_END()
