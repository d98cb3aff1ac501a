#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>

#include <boost/describe/enum.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace txova::kafka;

namespace codec_test {
enum class tier { basic, premium };
BOOST_DESCRIBE_ENUM(tier, basic, premium)

struct sample {
  std::int32_t count{};
  std::uint8_t small{};
  double ratio{};
  bool flag{};
  std::string name;
  std::vector<std::string> tags;
  std::optional<std::string> note;
  tier level{};
  txova::kafka::location where;
  std::vector<money> prices;
};
BOOST_DESCRIBE_STRUCT(sample, (), (count, small, ratio, flag, name, tags, note, level, where, prices))
}  // namespace codec_test

using codec_test::sample;

namespace {
const std::string sample_json =
    R"({"count":3,"small":7,"ratio":0.25,"flag":true,"name":"n","tags":["a","b"],"note":"x",)"
    R"("level":"premium","where":{"lat":-25.9692,"lon":32.5732},"prices":[{"amount":100,"currency":"MZN"}]})";

diagnostic decode_error(std::string_view json) {
  auto r = from_json_text<sample>(json);
  BOOST_TEST_REQUIRE(!r.has_value(), "expected a decode error for " << json);
  return r.error();
}

std::string replace(std::string s, std::string_view from, std::string_view to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(codec)

BOOST_AUTO_TEST_CASE(round_trips_every_supported_member_kind) {
  auto r = from_json_text<sample>(sample_json);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->count == 3);
  BOOST_TEST((r->level == codec_test::tier::premium));
  BOOST_TEST(r->where.lat == -25.9692);
  BOOST_TEST(r->prices.at(0).currency == "MZN");
  BOOST_TEST(to_json_text(*r) == sample_json);
}

BOOST_AUTO_TEST_CASE(optional_members_are_omitted_when_empty) {
  auto r = from_json_text<sample>(replace(sample_json, R"("note":"x",)", ""));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(!r->note.has_value());
  BOOST_TEST(to_json_text(*r).find("note") == std::string::npos);
  auto null = from_json_text<sample>(replace(sample_json, R"("note":"x")", R"("note":null)"));
  BOOST_TEST_REQUIRE(null.has_value());
  BOOST_TEST(!null->note.has_value());
}

BOOST_AUTO_TEST_CASE(null_arrays_decode_as_empty_like_go_nil_slices) {
  auto r = from_json_text<sample>(replace(sample_json, R"(["a","b"])", "null"));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->tags.empty());
  BOOST_TEST(to_json_text(*r).find(R"("tags":[])") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_ignored) {
  auto r = from_json_text<sample>(replace(sample_json, R"("count":3,)", R"("count":3,"added_in_v1_1":{"x":[1]},)"));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(to_json_text(*r) == sample_json);
}

BOOST_AUTO_TEST_CASE(errors_name_the_field_path_and_value) {
  BOOST_TEST(decode_error(replace(sample_json, R"("count":3,)", "")).message == "payload.count is missing");
  BOOST_TEST(decode_error(replace(sample_json, R"("count":3)", R"("count":"3")")).message ==
             R"(payload.count must be an integer, got string "3")");
  BOOST_TEST(decode_error(replace(sample_json, R"("count":3)", R"("count":3.5)")).message ==
             "payload.count must be an integer, got number 3.5");
  BOOST_TEST(decode_error(replace(sample_json, R"("small":7)", R"("small":300)")).message ==
             "payload.small number 300 is out of range [0, 255]");
  BOOST_TEST(decode_error(replace(sample_json, R"("count":3)", R"("count":9223372036854775808)")).field ==
             "payload.count");
  BOOST_TEST(decode_error(replace(sample_json, R"("ratio":0.25)", R"("ratio":null)")).message ==
             "payload.ratio must be a number, got null");
  BOOST_TEST(decode_error(replace(sample_json, R"("flag":true)", R"("flag":1)")).field == "payload.flag");
  BOOST_TEST(decode_error(replace(sample_json, R"(["a","b"])", R"(["a",2])")).message ==
             "payload.tags[1] must be a string, got number 2");
  BOOST_TEST(decode_error(replace(sample_json, R"("premium")", R"("gold")")).message ==
             R"(payload.level string "gold" is not one of: basic, premium)");
  BOOST_TEST(decode_error(replace(sample_json, R"("lat":-25.9692)", R"("lat":-95)")).message ==
             "payload.where latitude -95 is out of range [-90, 90]");
  BOOST_TEST(decode_error(replace(sample_json, R"("lon":32.5732)", R"("lon":"32")")).field == "payload.where.lon");
  BOOST_TEST(decode_error(replace(sample_json, R"("currency":"MZN")", R"("currency":"mzn")")).message ==
             R"(payload.prices[0] currency "mzn" is not an ISO 4217 code (three uppercase letters))");
  BOOST_TEST(decode_error(replace(sample_json, R"("amount":100)", R"("amount":1.5)")).field ==
             "payload.prices[0].amount");
  BOOST_TEST(decode_error("[]").message == "payload must be an object, got an array");
}

BOOST_AUTO_TEST_CASE(catalog_payloads_decode_with_field_errors) {
  const std::string ok =
      R"({"ride_id":"r","end_time":"2024-01-15T10:29:58Z","distance_km":12,"duration_mins":25,)"
      R"("fare":{"amount":35000,"currency":"MZN"}})";
  auto r = from_json_text<events::ride_completed>(ok);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->distance_km == 12.0);
  BOOST_TEST(r->ride_id.str() == "r");

  auto missing_amount = from_json_text<events::ride_completed>(replace(ok, R"("amount":35000,)", ""));
  BOOST_TEST_REQUIRE(!missing_amount.has_value());
  BOOST_TEST(missing_amount.error().message == "payload.fare.amount is missing");
  BOOST_TEST(missing_amount.error().code == error::missing_field);

  auto float_money = from_json_text<events::ride_completed>(replace(ok, "35000", "350.00"));
  BOOST_TEST_REQUIRE(!float_money.has_value());
  BOOST_TEST(float_money.error().message == "payload.fare.amount must be an integer, got number 350");

  auto local_time = from_json_text<events::ride_completed>(replace(ok, "10:29:58Z", "12:29:58+02:00"));
  BOOST_TEST_REQUIRE(!local_time.has_value());
  BOOST_TEST(local_time.error().field == "payload.end_time");
  BOOST_TEST(local_time.error().message.find("is not UTC") != std::string::npos, local_time.error().message);

  auto empty_id = from_json_text<events::ride_completed>(replace(ok, R"("ride_id":"r")", R"("ride_id":"")"));
  BOOST_TEST_REQUIRE(!empty_id.has_value());
  BOOST_TEST(empty_id.error().message == "payload.ride_id must not be empty");

  auto rating = from_json_text<events::ride_rated>(R"({"ride_id":"r","rating":6,"rated_by":"rider"})");
  BOOST_TEST_REQUIRE(!rating.has_value());
  BOOST_TEST(rating.error().message == "payload rating 6 is outside 1 to 5");

  auto heading = from_json_text<events::driver_location_updated>(
      R"({"driver_id":"d","location":{"lat":0,"lon":0},"heading":360,"speed":3})");
  BOOST_TEST_REQUIRE(!heading.has_value());
  BOOST_TEST(heading.error().message == "payload heading 360 is outside [0, 360) degrees");
}

BOOST_AUTO_TEST_CASE(non_finite_doubles_never_reach_the_wire) {
  txova::kafka::location bad{std::numeric_limits<double>::quiet_NaN(), 0};
  BOOST_TEST(!bad.validate().empty());
  BOOST_CHECK_THROW(to_json_text(bad), diagnostic_error);
  const diagnostic d = validate_value(bad, "payload.start_location");
  BOOST_TEST((d.code == error::invalid_field));
  BOOST_TEST(d.field == "payload.start_location.lat", d.field);
  BOOST_TEST(d.message.find("not a finite number") != std::string::npos, d.message);
}

BOOST_AUTO_TEST_SUITE_END()
