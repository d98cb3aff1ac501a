#include <txova/kafka/detail/json_text.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace txova::kafka;

namespace {

const std::string valid_json =
    R"({"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","type":"ride.completed","version":"1.0",)"
    R"("source":"ride-service","timestamp":"2024-01-15T10:30:00Z",)"
    R"("correlation_id":"c0a80101-0000-4000-8000-000000000001",)"
    R"("causation_id":"c0a80101-0000-4000-8000-000000000002","actor":{"id":"u-1","type":"user"},)"
    R"("payload":{"ride_id":"r-1","end_time":"2024-01-15T10:29:58Z","distance_km":12.5,)"
    R"("duration_mins":25,"fare":{"amount":35000,"currency":"MZN"}}})";

// valid_json with one top-level member replaced (or removed when `value` is empty).
std::string with(std::string_view key, std::string_view value) {
  auto obj = boost::json::parse(valid_json).as_object();
  if (value.empty()) obj.erase(key);
  else obj[key] = boost::json::parse(value, {}, {.max_depth = 256});
  std::string out;
  txova::kafka::detail::append_value(out, obj);  // boost::json::serialize writes 12.5 as 1.25E1
  return out;
}

diagnostic parse_error(const std::string& json) {
  auto r = parse_envelope(json);
  BOOST_TEST_REQUIRE(!r.has_value(), "expected a parse error for " << json);
  return r.error();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(envelope_parse)

BOOST_AUTO_TEST_CASE(parses_every_field) {
  auto r = parse_envelope(valid_json);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->id == "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  BOOST_TEST(r->type == "ride.completed");
  BOOST_TEST(r->version == "1.0");
  BOOST_TEST(r->source == "ride-service");
  BOOST_TEST(format_timestamp(r->time) == "2024-01-15T10:30:00Z");
  BOOST_TEST(r->correlation_id == "c0a80101-0000-4000-8000-000000000001");
  BOOST_TEST(r->causation_id.value() == "c0a80101-0000-4000-8000-000000000002");
  BOOST_TEST_REQUIRE(r->actor.has_value());
  BOOST_TEST(r->actor->id == "u-1");
  BOOST_TEST(r->actor->type == "user");
  BOOST_TEST(to_json(*r) == valid_json);
}

BOOST_AUTO_TEST_CASE(bytes_after_the_document_are_refused_by_name) {
  auto r = parse_envelope(std::string(valid_json) + " x");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == error::invalid_json));
  BOOST_TEST(r.error().message.find("1 byte(s) follow its document") != std::string::npos, r.error().message);
  auto two = parse_envelope(std::string(valid_json) + "{}");
  BOOST_TEST_REQUIRE(!two.has_value(), "a second document");
  BOOST_TEST(parse_envelope(std::string(valid_json) + " \n\t").has_value(), "whitespace after it is fine");
}

BOOST_AUTO_TEST_CASE(keeps_payload_bytes_exactly) {
  const std::string pretty =
      "{\"id\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\",\"type\":\"ride.rated\",\"version\":\"1.0\","
      "\"source\":\"s\",\"timestamp\":\"2024-01-15T10:30:00Z\",\"correlation_id\":\"c\","
      "\"payload\": {\n  \"ride_id\" : \"r\",\n  \"rating\": 5.0e0, \"review\": \"\\u00e9 <b>\"\n}\n}";
  auto r = parse_envelope(pretty);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->payload == "{\n  \"ride_id\" : \"r\",\n  \"rating\": 5.0e0, \"review\": \"\\u00e9 <b>\"\n}");
  BOOST_TEST(to_json(*r).find(r->payload) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ignores_unknown_fields) {
  auto r = parse_envelope(with("schema_url", R"({"nested":[1,2,{"deep":true}]})"));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(to_json(*r) == valid_json);
}

BOOST_AUTO_TEST_CASE(optional_fields_may_be_absent_or_null) {
  for (auto key : {"causation_id", "actor"}) {
    auto absent = parse_envelope(with(key, ""));
    BOOST_TEST_REQUIRE(absent.has_value(), key);
    auto null = parse_envelope(with(key, "null"));
    BOOST_TEST_REQUIRE(null.has_value(), key);
    BOOST_TEST((*absent == *null));
    BOOST_TEST(to_json(*absent).find(key) == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(each_missing_required_field_is_named) {
  for (auto key : {"id", "type", "version", "source", "timestamp", "correlation_id", "payload"}) {
    const auto d = parse_error(with(key, ""));
    BOOST_TEST(d.code == error::missing_field, key);
    BOOST_TEST(d.field == key);
    BOOST_TEST(d.message == std::string(key) + " is missing");
  }
  const auto d = parse_error(with("actor", R"({"id":"u-1"})"));
  BOOST_TEST(d.field == "actor.type");
  BOOST_TEST(d.code == error::missing_field);
}

BOOST_AUTO_TEST_CASE(wrong_types_are_named_with_the_value) {
  BOOST_TEST(parse_error(with("version", "1")).message == "version must be a string, got number 1");
  BOOST_TEST(parse_error(with("id", "true")).message == "id must be a string, got boolean true");
  BOOST_TEST(parse_error(with("timestamp", "1705314600")).field == "timestamp");
  BOOST_TEST(parse_error(with("correlation_id", "[]")).code == error::wrong_type);
  BOOST_TEST(parse_error(with("causation_id", "{}")).field == "causation_id");
  BOOST_TEST(parse_error(with("actor", R"("u-1")")).message == "actor must be an object, got string \"u-1\"");
  BOOST_TEST(parse_error(with("actor", R"({"id":1,"type":"user"})")).field == "actor.id");
  BOOST_TEST(parse_error(with("payload", "[1]")).message == "payload must be a JSON object, got an array");
  BOOST_TEST(parse_error(with("payload", R"("{}")")).code == error::wrong_type);
  BOOST_TEST(parse_error(with("payload", "null")).field == "payload");
  BOOST_TEST(parse_error("[1,2]").message == "envelope must be a JSON object, got an array");
}

BOOST_AUTO_TEST_CASE(bad_values_are_named_with_the_value) {
  BOOST_TEST(parse_error(with("version", R"("1")")).message == R"(version "1" is not major.minor)");
  BOOST_TEST(parse_error(with("version", R"("1.0.0")")).field == "version");
  BOOST_TEST(parse_error(with("version", R"("v1.0")")).field == "version");
  BOOST_TEST(parse_error(with("version", R"("1.")")).field == "version");
  BOOST_TEST(parse_error(with("id", R"("not-a-uuid")")).message ==
             R"(id "not-a-uuid" is not a UUID (8-4-4-4-12 hex digits))");
  BOOST_TEST(parse_error(with("id", R"("7c9e6679-7425-10de-944b-e07fc1f90ae7")")).message.find("version 4") !=
             std::string::npos);
  BOOST_TEST(parse_error(with("id", R"("7c9e6679-7425-40de-c44b-e07fc1f90ae7")")).field == "id");
  for (auto type : {R"("Ride.Completed")", R"("ride")", R"("ride.completed.v2")", R"("ride-x.done")", R"(".x")",
                    R"("ride.")", R"("1ride.x")"})
    BOOST_TEST(parse_error(with("type", type)).field == "type", type);
  BOOST_TEST(parse_error(with("timestamp", R"("2024-01-15T12:30:00+02:00")")).message ==
             R"(timestamp "2024-01-15T12:30:00+02:00" is not UTC: it has offset +02:00; send it in UTC with a Z)");
  BOOST_TEST(parse_error(with("source", R"("")")).message == "source is empty");
  BOOST_TEST(parse_error(with("correlation_id", R"("")")).field == "correlation_id");
  BOOST_TEST(parse_error(with("causation_id", R"("")")).field == "causation_id");
  BOOST_TEST(parse_error(with("actor", R"({"id":"u-1","type":"robot"})")).message ==
             R"(actor.type "robot" is not one of user, system, admin)");
  BOOST_TEST(parse_error(with("actor", R"({"id":"","type":"user"})")).field == "actor.id");
}

BOOST_AUTO_TEST_CASE(malformed_hostile_and_oversized_documents) {
  BOOST_TEST(parse_error("").message == "envelope is empty, not JSON");
  BOOST_TEST(parse_error("{\"id\":").message ==
             "envelope is not valid JSON: it ends after 6 bytes, before the document is complete");
  BOOST_TEST(parse_error("{\"id\" 1}").message.find("at offset 6 near \"1}\"") != std::string::npos,
             parse_error("{\"id\" 1}").message);
  BOOST_TEST(parse_error(valid_json + "garbage").code == error::invalid_json);
  std::string lone_surrogate = valid_json;
  lone_surrogate.replace(lone_surrogate.find("ride-service"), 12, "bad\\ud800");
  BOOST_TEST(parse_error(lone_surrogate).code == error::invalid_json);

  std::string invalid_utf8 = valid_json;
  invalid_utf8.replace(invalid_utf8.find("ride-service"), 4, "r\xff\xfe" "e");
  BOOST_TEST(parse_error(invalid_utf8).message.find("not valid UTF-8: byte 0xff") != std::string::npos);

  const auto dup = parse_error(R"({"type":"ride.completed",)" + valid_json.substr(1));
  BOOST_TEST(dup.code == error::duplicate_key);
  BOOST_TEST(dup.field == "envelope.type");
  std::string dup_payload = valid_json;
  dup_payload.replace(dup_payload.find(R"("ride_id":"r-1")"), 15, R"("ride_id":"a","ride_id":"b")");
  BOOST_TEST(parse_error(dup_payload).field == "envelope.payload.ride_id");

  std::string deep = std::string(40, '[') + std::string(40, ']');
  BOOST_TEST(parse_error(with("payload", "{\"x\":" + deep + "}")).code == error::too_deep);

  std::string huge = with("payload", R"({"blob":")" + std::string(1 << 20, 'x') + R"("})");
  const auto d = parse_error(huge);
  BOOST_TEST(d.code == error::too_large);
  BOOST_TEST(d.message == "envelope is " + std::to_string(huge.size()) + " bytes, over the 1048576-byte limit");
  BOOST_TEST(parse_envelope(huge, {2 << 20, 32}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(envelope_validate)

BOOST_AUTO_TEST_CASE(valid_envelope_passes) {
  auto e = *parse_envelope(valid_json);
  BOOST_TEST(!validate(e));
}

BOOST_AUTO_TEST_CASE(validate_names_the_field) {
  auto e = *parse_envelope(valid_json);
  auto check = [&](auto mutate, std::string_view field, error code = error::invalid_field) {
    envelope copy = e;
    mutate(copy);
    const diagnostic d = validate(copy);
    BOOST_TEST(bool(d), field);
    BOOST_TEST(d.field == field);
    BOOST_TEST((d.code == code), d.message);
  };
  check([](envelope& x) { x.id = ""; }, "id");
  check([](envelope& x) { x.type = "ride"; }, "type");
  check([](envelope& x) { x.version = "1"; }, "version");
  check([](envelope& x) { x.source.clear(); }, "source");
  check([](envelope& x) { x.correlation_id.clear(); }, "correlation_id");
  check([](envelope& x) { x.causation_id = ""; }, "causation_id");
  check([](envelope& x) { x.actor = actor{"a", "bot"}; }, "actor.type");
  check([](envelope& x) { x.payload = "[]"; }, "payload", error::wrong_type);
  check([](envelope& x) { x.payload = "{\"a\":1"; }, "payload", error::invalid_json);
  check([](envelope& x) { x.payload = "{\"a\":1,\"a\":2}"; }, "payload.a", error::duplicate_key);
  check([](envelope& x) { x.payload = "{\"a\":\"\xff\"}"; }, "payload", error::invalid_json);
}

BOOST_AUTO_TEST_CASE(version_major_is_parsed) {
  BOOST_TEST(major_version("1.0").value() == 1u);
  BOOST_TEST(major_version("12.34").value() == 12u);
  BOOST_TEST(!major_version("1"));
  BOOST_TEST(!major_version("1.x"));
  BOOST_TEST(!major_version("1234567890.0"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(envelope_build)

BOOST_AUTO_TEST_CASE(typed_event_gets_fresh_id_time_and_catalog_metadata) {
  events::ride_completed done;
  done.ride_id = ids::ride_id("r-42");
  done.end_time = *parse_timestamp("2024-01-15T10:29:58Z");
  done.distance_km = 12.5;
  done.duration_mins = 25;
  done.fare = money::minor(35000, "MZN");

  const auto before = now_utc();
  envelope a = make_envelope(done, {.source = "ride-service"});
  envelope b = make_envelope(done, {.source = "ride-service"});
  BOOST_TEST(!validate(a), validate(a).message);
  BOOST_TEST(a.id != b.id);
  BOOST_TEST(a.type == "ride.completed");
  BOOST_TEST(a.version == "1.0");
  BOOST_TEST((a.time >= before && a.time <= now_utc()));
  BOOST_TEST(a.correlation_id == a.id);  // a new chain starts at its first event
  BOOST_TEST(!a.causation_id.has_value());
  BOOST_TEST(a.payload ==
             R"({"ride_id":"r-42","end_time":"2024-01-15T10:29:58Z","distance_km":12.5,"duration_mins":25,)"
             R"("fare":{"amount":35000,"currency":"MZN"}})");

  auto round = parse_envelope(to_json(a));
  BOOST_TEST_REQUIRE(round.has_value());
  BOOST_TEST((*round == a));
  auto typed = payload_as<events::ride_completed>(*round);
  BOOST_TEST_REQUIRE(typed.has_value());
  BOOST_TEST(typed->fare.amount == 35000);
}

BOOST_AUTO_TEST_CASE(follow_up_events_carry_correlation_and_causation) {
  envelope cause = make_envelope(events::ride_requested{}, {.source = "rider-app"});
  event_context ctx = event_context::caused_by(cause, "dispatch-service");
  ctx.actor = actor{"system", "system"};
  envelope next = make_envelope(events::ride_driver_assigned{}, ctx);
  BOOST_TEST(next.correlation_id == cause.correlation_id);
  BOOST_TEST(next.causation_id.value() == cause.id);
  BOOST_TEST(next.source == "dispatch-service");
  BOOST_TEST(next.actor.value().type == "system");

  envelope explicit_corr = make_envelope(events::user_verified{}, {.source = "s", .correlation_id = "req-77"});
  BOOST_TEST(explicit_corr.correlation_id == "req-77");
}

BOOST_AUTO_TEST_CASE(uuids_are_version_4) {
  for (int i = 0; i < 100; ++i) {
    const std::string id = new_uuid();
    BOOST_TEST_REQUIRE(id.size() == 36u);
    BOOST_TEST(id[14] == '4');
    BOOST_TEST(std::string("89ab").find(id[19]) != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
