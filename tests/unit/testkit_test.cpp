// The test kit's builders (testing/envelopes.hpp): envelopes over the catalog and raw ones, with
// deterministic ids and times, chains, and the records a consumer would fetch for them.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/testing/envelopes.hpp>
#include <txova/kafka/testing/recording_producer.hpp>

#include <boost/asio/io_context.hpp>
#include <librdkafka/rdkafka.h>

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

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

BOOST_AUTO_TEST_SUITE(testkit_recording)

BOOST_AUTO_TEST_CASE(partitions_are_the_real_partitioners) {
  // FNV-1a 32 test vectors, through sarama's signed modulo.
  const auto sarama = [](std::uint32_t h, std::int32_t n) {
    const std::int32_t r = static_cast<std::int32_t>(h) % n;
    return r < 0 ? -r : r;
  };
  BOOST_TEST(testing::partition_for("a", 7) == sarama(0xe40c292cu, 7));
  BOOST_TEST(testing::partition_for("foobar", 12) == sarama(0xbf9cf968u, 12));
  // Kafka's murmur2 (its UtilsTest values), masked.
  const auto java = [](std::int32_t h, std::int32_t n) { return static_cast<std::int32_t>((static_cast<std::uint32_t>(h) & 0x7fffffffu) % n); };
  BOOST_TEST(testing::partition_for("21", 10, key_partitioner::java) == java(-973932308, 10));
  BOOST_TEST(testing::partition_for("foobar", 10, key_partitioner::java) == java(-790332482, 10));
  BOOST_TEST(testing::partition_for("abc", 10, key_partitioner::java) == java(479470107, 10));
}

BOOST_AUTO_TEST_CASE(publishes_land_in_the_store_with_real_partitions_and_offsets) {
  boost::asio::io_context ioc;
  testing::recording_producer rec(ioc.get_executor());
  std::vector<delivery> acks;
  const envelope first = testing::envelope_for(ride("ride-1")).deterministic(1);
  const envelope second = testing::envelope_for(ride("ride-1")).caused_by(first).deterministic(2);
  const envelope other = testing::envelope_for(ride("ride-2")).deterministic(3);
  for (const envelope* e : {&first, &second, &other})
    rec.producer().async_publish(*e, [&](boost::system::error_code ec, delivery d) {
      BOOST_TEST(!ec, ec.message());
      acks.push_back(d);
    });
  BOOST_TEST_REQUIRE(test::run_until(ioc, [&] { return acks.size() == 3; }));
  BOOST_TEST(rec.store().size() == 3u);
  const std::int32_t p1 = testing::partition_for("ride-1", 3);
  BOOST_TEST(acks[0].partition == p1);
  BOOST_TEST(acks[0].offset == 0);
  BOOST_TEST(acks[1].partition == p1);
  BOOST_TEST(acks[1].offset == 1, "the same key, the same partition, the next offset");
  BOOST_TEST(acks[2].partition == testing::partition_for("ride-2", 3));
  BOOST_TEST(rec.store().at("txova.rides.v1", p1, 1)->event->id == second.id);
  BOOST_TEST(rec.store().with_key("ride-2").size() == 1u);
  BOOST_TEST(rec.store().events("ride.*").size() == 3u);
  BOOST_TEST(rec.store().events("payment.*").empty());
  BOOST_TEST(rec.store().with_correlation(first.id).size() == 2u);
  const auto chain = rec.store().caused_by(first);
  BOOST_TEST_REQUIRE(chain.size() == 2u);
  BOOST_TEST(chain[1].id == second.id);
  BOOST_TEST(rec.store().all()[0].record.headers.at(0).first == "event-id");
}

BOOST_AUTO_TEST_CASE(failures_delays_and_backpressure_can_be_injected) {
  boost::asio::io_context ioc;
  producer_config cfg;
  cfg.retries = 0;
  testing::recording_producer rec(ioc.get_executor(), cfg);
  std::optional<std::pair<boost::system::error_code, delivery>> failed;
  rec.fail_next(1, make_rdkafka_error(RD_KAFKA_RESP_ERR_INVALID_RECORD));
  rec.producer().async_publish(testing::envelope_for(ride("ride-1")).build(),
                               [&](boost::system::error_code ec, delivery d) { failed.emplace(ec, d); });
  BOOST_TEST_REQUIRE(test::run_until(ioc, [&] { return failed.has_value(); }));
  BOOST_TEST((failed->first == make_rdkafka_error(RD_KAFKA_RESP_ERR_INVALID_RECORD)), failed->first.message());
  BOOST_TEST(failed->second.dead_letter_topic == "txova.rides.v1.dlq");
  BOOST_TEST(rec.store().in_topic("txova.rides.v1").empty());
  BOOST_TEST(rec.store().in_topic("txova.rides.v1.dlq").size() == 1u, "the DLQ write is recorded too");

  rec.delay_acks(std::chrono::milliseconds(400));  // long beside one turn of the loop below, on a busy machine too
  bool acked = false;
  rec.producer().async_publish(testing::envelope_for(ride("ride-1")).build(), [&](boost::system::error_code, delivery) { acked = true; });
  BOOST_TEST_REQUIRE(test::run_until(ioc, [&] { return rec.in_flight() == 1u; }));
  BOOST_TEST(!acked);
  BOOST_TEST_REQUIRE(test::run_until(ioc, [&] { return acked; }));
  rec.delay_acks(std::chrono::milliseconds(0));

  rec.hold(true);
  bool waited = false;
  rec.producer().async_publish(testing::envelope_for(ride("ride-3")).build(), [&](boost::system::error_code ec, delivery) {
    BOOST_TEST(!ec, ec.message());
    waited = true;
  });
  BOOST_TEST_REQUIRE(test::run_until(ioc, [&] { return rec.producer().stats().waiting_for_room == 1u; }));
  BOOST_TEST(!waited);
  rec.hold(false);
  BOOST_TEST_REQUIRE(test::run_until(ioc, [&] { return waited; }));
  BOOST_TEST(rec.store().with_key("ride-3").size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
