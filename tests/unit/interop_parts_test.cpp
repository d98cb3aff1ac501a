// Sans-IO parts of fleet interop: the CloudEvents Kafka binding (against the binding spec's
// examples and round trips), the partitioner setting, open enumerations on consume.
#include <txova/kafka/cloudevents.hpp>
#include <txova/kafka/config.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/ride.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace txova::kafka;
namespace ce = txova::kafka::cloudevents;

namespace {
envelope sample() {
  envelope e = make_envelope(events::ride_started{ids::ride_id("ride-<1>"), now_utc(), location{-25.968200000000003, 32.5}},
                             event_context{.source = "ride-service", .correlation_id = "c-1", .causation_id = context_text("x-9"),
                                           .actor = context_actor{"u-1", "rider"}});
  return e;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(cloudevents_binding)

// The Kafka protocol binding's binary-mode example (content mode 3.2), with JSON data.
BOOST_AUTO_TEST_CASE(reads_the_specs_binary_example) {
  ce::headers h{{"ce_specversion", "1.0"}, {"ce_type", "com.example.someevent"}, {"ce_source", "/mycontext/subcontext"},
                {"ce_id", "1234-1234-1234"}, {"ce_time", "2018-04-05T03:56:24Z"}, {"content-type", "application/json"}};
  auto e = ce::from_binary(h, R"({"x":1})");
  BOOST_TEST_REQUIRE(e.has_value(), (e ? "" : e.error().message));
  BOOST_TEST(e->id == "1234-1234-1234");
  BOOST_TEST(e->type == "com.example.someevent");
  BOOST_TEST(e->source == "/mycontext/subcontext");
  BOOST_TEST(format_timestamp(e->time) == "2018-04-05T03:56:24Z");
  BOOST_TEST(e->version == "1.0", "no schemaversion: 1.0");
  BOOST_TEST(e->correlation_id == "1234-1234-1234", "no correlationid: a chain of its own");
  BOOST_TEST(e->payload == R"({"x":1})");
  // The example as printed carries Avro: not something an envelope payload can be.
  h.back().second = "application/avro";
  auto avro = ce::from_binary(h, "....");
  BOOST_TEST_REQUIRE(!avro.has_value());
  BOOST_TEST(avro.error().message.find("application/avro") != std::string::npos, avro.error().message);
  BOOST_TEST(validate(*e).message.find("is not a UUID") != std::string::npos, "envelope rules still apply: " << validate(*e).message);
}

// The binding's structured-mode example (content mode 3.1), with JSON data.
BOOST_AUTO_TEST_CASE(reads_the_specs_structured_example) {
  const std::string value = R"({
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext/subcontext",
    "id" : "1234-1234-1234",
    "time" : "2018-04-05T03:56:24Z",
    "datacontenttype" : "application/json",
    "data" : { "a" : [1, 2.5] }
})";
  BOOST_TEST((ce::detect("application/cloudevents+json; charset=UTF-8", false) == ce::mode::structured));
  auto e = ce::from_structured(value);
  BOOST_TEST_REQUIRE(e.has_value(), (e ? "" : e.error().message));
  BOOST_TEST(e->type == "com.example.someevent");
  BOOST_TEST(e->payload == R"({ "a" : [1, 2.5] })", "the data's bytes exactly");
  auto xml = ce::from_structured(R"({"specversion":"1.0","type":"t","source":"s","id":"i","time":"2018-04-05T03:56:24Z","datacontenttype":"application/xml","data":"<a/>"})");
  BOOST_TEST_REQUIRE(!xml.has_value());
  auto v03 = ce::from_structured(R"({"specversion":"0.3","type":"t","source":"s","id":"i","time":"2018-04-05T03:56:24Z","data":{}})");
  BOOST_TEST_REQUIRE(!v03.has_value());
  BOOST_TEST(v03.error().message.find("0.3") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(our_envelopes_round_trip_through_both_modes) {
  const envelope e = sample();
  auto [bh, bv] = ce::to_binary(e);
  BOOST_TEST(bv == e.payload, "binary: the value is the payload, byte for byte");
  auto back = ce::from_binary(bh, bv);
  BOOST_TEST_REQUIRE(back.has_value(), (back ? "" : back.error().message));
  BOOST_TEST((*back == e));
  auto [sh, sv] = ce::to_structured(e);
  BOOST_TEST_REQUIRE(sh.size() == 1u);
  BOOST_TEST(sh[0].second.starts_with("application/cloudevents+json"));
  const auto doc = boost::json::parse(sv).as_object();
  BOOST_TEST(doc.at("specversion").as_string() == "1.0");
  BOOST_TEST(doc.at("correlationid").as_string() == "c-1");
  BOOST_TEST(doc.at("actortype").as_string() == "rider");
  auto back2 = ce::from_structured(sv);
  BOOST_TEST_REQUIRE(back2.has_value(), (back2 ? "" : back2.error().message));
  BOOST_TEST((*back2 == e));
  BOOST_TEST((ce::detect("application/json", true) == ce::mode::binary));
  BOOST_TEST((ce::detect("", false) == ce::mode::none));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fleet_settings)

BOOST_AUTO_TEST_CASE(the_partitioner_is_the_fleets_and_named) {
  producer_config c;
  c.brokers = "b:1";
  BOOST_TEST(c.rdkafka_properties().at("partitioner") == "fnv1a_random", "sarama's FNV-1a by default");
  c.partitioner = key_partitioner::java;
  BOOST_TEST(c.rdkafka_properties().at("partitioner") == "murmur2_random");
  c.partitioner = key_partitioner::librdkafka;
  BOOST_TEST(c.rdkafka_properties().at("partitioner") == "consistent_random");
  auto env = producer_config::from_env(std::map<std::string, std::string>{{"KAFKA_BROKERS", "b:1"}, {"KAFKA_PRODUCER_PARTITIONER", "java"}});
  BOOST_TEST_REQUIRE(env.has_value());
  BOOST_TEST((env->partitioner == key_partitioner::java));
  auto bad = producer_config::from_env(std::map<std::string, std::string>{{"KAFKA_BROKERS", "b:1"}, {"KAFKA_PRODUCER_PARTITIONER", "crc"}});
  BOOST_TEST_REQUIRE(!bad.has_value());
  BOOST_TEST(bad.error().message.find("KAFKA_PRODUCER_PARTITIONER") != std::string::npos, bad.error().message);
}

BOOST_AUTO_TEST_CASE(an_open_enumeration_is_accepted_on_consume_and_refused_at_publish) {
  envelope e = sample();  // actor.type "rider"
  const std::string wire = to_json(e);
  auto strict = parse_envelope(wire);
  BOOST_TEST_REQUIRE(!strict.has_value(), "strict by default, as publishing is");
  BOOST_TEST(strict.error().field == "actor.type");
  envelope_limits tolerant;
  tolerant.strict = false;
  auto read = parse_envelope(wire, tolerant);
  BOOST_TEST_REQUIRE(read.has_value(), (read ? "" : read.error().message));
  BOOST_TEST(read->actor->type == "rider");
  BOOST_TEST(!known_actor_type("rider"));
  e.actor->type = "";
  BOOST_TEST(parse_envelope(to_json(e), tolerant).error().field == "actor.type", "empty is still refused");
  consumer_config cc;
  BOOST_TEST(!cc.strict, "consumers read what the fleet's Go services read");
}

BOOST_AUTO_TEST_SUITE_END()
