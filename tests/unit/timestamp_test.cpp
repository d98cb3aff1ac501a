#include <txova/kafka/timestamp.hpp>

#include <boost/test/unit_test.hpp>

#include <vector>

#include "test_support.hpp"

using namespace txova::kafka;
using namespace std::chrono;

BOOST_AUTO_TEST_SUITE(timestamp_text)

BOOST_AUTO_TEST_CASE(nineteen_characters_without_a_zone_are_refused_without_reading_past_them) {
  const std::string_view text = "2024-01-15T10:30:00";
  std::vector<char> exact(text.begin(), text.end());  // no terminator after it: a read past it is caught by ASan
  auto t = parse_timestamp(std::string_view(exact.data(), exact.size()));
  BOOST_TEST_REQUIRE(!t.has_value());
  BOOST_TEST(t.error().message.find("must end in Z") != std::string::npos, t.error().message);
}

BOOST_AUTO_TEST_CASE(parses_utc_with_and_without_fraction) {
  auto t = parse_timestamp("2024-01-15T10:30:00Z");
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->time_since_epoch().count() == 1705314600LL * 1'000'000'000);

  auto f = parse_timestamp("2024-01-15T10:30:00.123456789Z");
  BOOST_TEST_REQUIRE(f.has_value());
  BOOST_TEST((*f - *t).count() == 123456789);

  auto half = parse_timestamp("2024-01-15T10:30:00.5Z");
  BOOST_TEST_REQUIRE(half.has_value());
  BOOST_TEST((*half - *t).count() == 500000000);
}

BOOST_AUTO_TEST_CASE(formats_like_go_rfc3339nano) {
  const auto base = *parse_timestamp("2024-01-15T10:30:00Z");
  BOOST_TEST(format_timestamp(base) == "2024-01-15T10:30:00Z");
  BOOST_TEST(format_timestamp(base + nanoseconds{500000000}) == "2024-01-15T10:30:00.5Z");
  BOOST_TEST(format_timestamp(base + nanoseconds{123456789}) == "2024-01-15T10:30:00.123456789Z");
  BOOST_TEST(format_timestamp(base + nanoseconds{1000}) == "2024-01-15T10:30:00.000001Z");
  BOOST_TEST(format_timestamp(timestamp{}) == "1970-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(rejects_offsets_other_than_z) {
  for (const char* s : {"2024-01-15T10:30:00+02:00", "2024-01-15T10:30:00-05:00", "2024-01-15T10:30:00+00:00"}) {
    auto r = parse_timestamp(s);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().code == error::invalid_field);
    BOOST_TEST(r.error().message.find("is not UTC") != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find(s) != std::string::npos, r.error().message);
  }
  auto none = parse_timestamp("2024-01-15T10:30:00");
  BOOST_TEST_REQUIRE(!none.has_value());
  BOOST_TEST(none.error().message.find("must end in Z") != std::string::npos, none.error().message);
}

BOOST_AUTO_TEST_CASE(rejects_malformed_and_impossible_times) {
  for (const char* s : {"", "2024-01-15", "2024-01-15 10:30:00Z", "2024-1-15T10:30:00Z", "2024-01-15T10:30:00.Z",
                        "2024-01-15T10:30:00.1234567890Z", "2024-02-30T10:30:00Z", "2023-02-29T00:00:00Z",
                        "2024-13-01T00:00:00Z", "2024-01-15T24:00:00Z", "2024-01-15T10:60:00Z",
                        "2024-01-15T10:30:60Z", "2024-01-15t10:30:00z", "2024-01-15T10:30:00ZZ",
                        "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"}) {
    auto r = parse_timestamp(s, "payload.end_time");
    BOOST_TEST(!r.has_value(), s);
    if (!r) BOOST_TEST(r.error().field == "payload.end_time");
  }
  BOOST_TEST(parse_timestamp("2024-02-29T23:59:59Z").has_value());
}

BOOST_AUTO_TEST_CASE(round_trips_through_text) {
  const auto t = now_utc();
  auto back = parse_timestamp(format_timestamp(t));
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST((*back == t));
}

BOOST_AUTO_TEST_SUITE_END()
