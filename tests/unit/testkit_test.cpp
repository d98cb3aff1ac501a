// The test kit's builders (testing/envelopes.hpp): envelopes over the catalog and raw ones, with
// deterministic ids and times, chains, and the records a consumer would fetch for them.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/testing/envelopes.hpp>

#include <boost/test/unit_test.hpp>

using namespace txova::kafka;

namespace {
events::ride_started ride(std::string id) { return events::ride_started{ids::ride_id(std::move(id)), now_utc(), location{-25.96, 32.58}}; }
}  // namespace

BOOST_AUTO_TEST_SUITE(testkit_builders)

BOOST_AUTO_TEST_CASE(envelopes_are_valid_deterministic_when_asked_and_chain) {
  const envelope first = testing::envelope_for(ride("ride-7")).deterministic(1).build();
  BOOST_TEST(first.id == "00000000-0000-4000-8000-000000000001");
  BOOST_TEST(first.correlation_id == first.id, "a new chain is its own");
  BOOST_TEST(format_timestamp(first.time) == "2026-01-01T00:00:01Z");
  BOOST_TEST(first.type == "ride.started");
  BOOST_TEST(first.source == "test");
  BOOST_TEST(!validate(first), validate(first).message);
  const auto same = ride("ride-7");
  BOOST_TEST((testing::envelope_for(same).deterministic(1).build() == testing::envelope_for(same).deterministic(1).build()),
             "the same inputs, the same envelope");
  BOOST_TEST(testing::envelope_for(ride("ride-7")).build().id != testing::envelope_for(ride("ride-7")).build().id);

  const envelope next = testing::envelope_for(ride("ride-7"))
                            .caused_by(first)
                            .actor("driver-3", "user")
                            .source("billing")
                            .deterministic(2)
                            .build();
  BOOST_TEST(next.correlation_id == first.id);
  BOOST_TEST(next.causation_id.value_or("") == first.id);
  BOOST_TEST(next.actor.value_or(actor{}).id == "driver-3");
  BOOST_TEST(next.source == "billing");
  BOOST_TEST(!validate(next), validate(next).message);
  BOOST_TEST(testing::envelope_for(ride("ride-7")).correlation("c-1").build().correlation_id == "c-1");

  const envelope raw = testing::raw_envelope("household.moved", "2.1", R"({"to":"Maputo"})").build();
  BOOST_TEST(raw.type == "household.moved");
  BOOST_TEST(raw.version == "2.1");
  BOOST_TEST(!validate(raw), validate(raw).message);
}

BOOST_AUTO_TEST_CASE(records_are_what_a_producer_writes) {
  const auto e = testing::envelope_for(ride("ride-9")).deterministic(5).with_header("tenant", "mz");
  const consumed_record r = e.consumed("txova.rides.v1", 2, 41);
  BOOST_TEST(r.topic() == "txova.rides.v1");
  BOOST_TEST(r.partition() == 2);
  BOOST_TEST(r.offset() == 41);
  BOOST_TEST(r.key() == "ride-9", "keyed by the catalog's partition key");
  auto back = parse_envelope(r.value());
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST((*back == e.build()));
  const std::vector<std::pair<std::string, std::string>> want{
      {"event-id", e.build().id},   {"event-type", "ride.started"},
      {"correlation-id", e.build().id}, {"schema-version", e.build().version},
      {"source", "test"},           {"timestamp", "2026-01-01T00:00:05Z"},
      {"tenant", "mz"}};
  BOOST_TEST((r.headers() == want));
  BOOST_TEST(testing::envelope_for(ride("ride-9")).with_key("other").consumed("t").key() == "other");

  const trace_context t = trace_context::new_root();
  const consumed_record traced = testing::envelope_for(ride("ride-9")).with_trace(t).consumed("t");
  BOOST_TEST(traced.header_view("traceparent").value_or("") == t.traceparent());

  const consumed_record poison = testing::record_builder("txova.rides.v1").offset(3).key("k").value("not json").header("h", "v").build();
  BOOST_TEST(poison.value() == "not json");
  BOOST_TEST(poison.offset() == 3);
  BOOST_TEST(poison.header("h").value_or("") == "v");
  BOOST_TEST(testing::record_builder("t").tombstone().build().is_tombstone());
}

BOOST_AUTO_TEST_SUITE_END()
