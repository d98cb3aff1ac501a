// Where dead letters go (dead_letter_destination and its environment variables) and reading them
// back: ours, Spring Kafka's and Kafka Connect's DLQ records, the replay filter, and the record a
// replay republishes. Sans-IO: no broker.
#include <txova/kafka/config.hpp>
#include <txova/kafka/dlq.hpp>

#include <boost/test/unit_test.hpp>

using namespace txova::kafka;

namespace {

const std::string envelope_text =
    R"({"id":"6f1c1c5e-6a7e-4a55-9a4a-1c1d8a3f0b11","type":"ride.completed","version":"1.0","source":"ride-service",)"
    R"("timestamp":"2026-11-30T10:00:00Z","correlation_id":"c-1","payload":{"ride_id":"ride-7","fare":{"amount":1.50}}})";

consumed_record as_consumed(const producer_record& p, std::int64_t offset = 5) {
  record_data d;
  d.topic = p.topic;
  d.partition = 1;
  d.offset = offset;
  d.key = p.key;
  d.value = p.value;
  d.headers = p.headers;
  return consumed_record(std::move(d));
}

dead_letter some_failure() {
  dead_letter d;
  d.original_topic = "txova.rides.v1";
  d.original_partition = 3;
  d.original_offset = 42;
  d.original_key = "ride-7";
  d.original_value = envelope_text;
  d.error_message = "handler failed: ride has no driver";
  d.attempt_count = 4;
  d.first_failure = parse_timestamp("2026-11-30T10:00:01Z").value();
  d.last_failure = parse_timestamp("2026-11-30T10:00:09Z").value();
  d.consumer_group = "billing";
  return d;
}

std::string big_endian(std::uint64_t v, int bytes) {
  std::string out(static_cast<std::size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dead_letter_destinations)

BOOST_AUTO_TEST_CASE(a_suffix_by_default_a_fixed_topic_or_a_function) {
  BOOST_TEST(dead_letter_destination{}.topic_for("txova.rides.v1") == "txova.rides.v1.dlq");
  BOOST_TEST(dead_letter_destination::suffix("-dlt").topic_for("orders") == "orders-dlt");
  const auto shared = dead_letter_destination::fixed("dlq-domain-services");
  BOOST_TEST(shared.topic_for("txova.rides.v1") == "dlq-domain-services");
  BOOST_TEST(shared.topic_for("txova.payments.v1") == "dlq-domain-services");
  BOOST_TEST(shared.fixed_topic() == "dlq-domain-services");
  const auto by = dead_letter_destination::by([](std::string_view t) { return "dead." + std::string(t); });
  BOOST_TEST(by.topic_for("orders") == "dead.orders");
  BOOST_TEST(by.fixed_topic().empty());
}

BOOST_AUTO_TEST_CASE(an_illegal_destination_is_refused_with_its_value) {
  const auto d = dead_letter_destination::fixed("dlq domain").validate("dead_letter_topic");
  BOOST_TEST((d.code == error::invalid_config));
  BOOST_TEST(d.message.find("\"dlq domain\"") != std::string::npos, d.message);
  BOOST_TEST(bool(dead_letter_destination::suffix("").validate("dead_letter_topic")));
  BOOST_TEST(!dead_letter_destination{}.validate("dead_letter_topic"));
  producer_config p;
  p.brokers = "b:9092";
  p.dead_letter_topic = dead_letter_destination::fixed("");
  BOOST_TEST(p.validate().field == "dead_letter_topic");
  consumer_config c;
  c.brokers = "b:9092";
  c.topics = {"t"};
  c.service = "s";
  c.dead_letter_topic = dead_letter_destination::fixed("a/b");
  BOOST_TEST(c.validate().field == "dead_letter_topic");
}

BOOST_AUTO_TEST_CASE(the_skeji_environment_variables_name_one_shared_dlq) {
  const std::map<std::string, std::string> env{{"KAFKA_BROKERS", "b:9092"},
                                               {"KAFKA_PRODUCER_DLQ_TOPIC", "dlq-producer"},
                                               {"KAFKA_CONSUMER_DLQ_TOPIC", "dlq-domain-services"}};
  const auto p = producer_config::from_env(env).value();
  BOOST_TEST(p.dead_letter_topic.topic_for("txova.rides.v1") == "dlq-producer");
  BOOST_TEST(!p.properties.count("dlq.topic"), "not passed to librdkafka as a property");
  const auto c = consumer_config::from_env(env).value();
  BOOST_TEST(c.dead_letter_topic.topic_for("txova.rides.v1") == "dlq-domain-services");
  BOOST_TEST(!c.properties.count("dlq.topic"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dead_letter_reading)

BOOST_AUTO_TEST_CASE(ours_reads_back_every_field_and_the_envelope_byte_for_byte) {
  const std::vector<std::pair<std::string, std::string>> original{{"event-type", "ride.completed"}, {"traceparent", "00-ab"}};
  const auto written = dead_letter_record(some_failure(), "txova.rides.v1.dlq", original, 1 << 20);
  const auto d = decode_dead_letter(as_consumed(written)).value();
  BOOST_TEST((d.format == dead_letter_format::txova));
  BOOST_TEST(d.failure.original_topic == "txova.rides.v1");
  BOOST_TEST(d.failure.original_partition == 3);
  BOOST_TEST(d.failure.original_offset == 42);
  BOOST_TEST(*d.failure.original_key == "ride-7");
  BOOST_TEST(*d.failure.original_value == envelope_text, "the envelope is the published bytes");
  BOOST_TEST(d.failure.error_message == "handler failed: ride has no driver");
  BOOST_TEST(d.failure.attempt_count == 4);
  BOOST_TEST(format_timestamp(d.failure.last_failure) == "2026-11-30T10:00:09Z");
  BOOST_TEST(*d.failure.consumer_group == "billing");
  BOOST_TEST(*d.event_type == "ride.completed");
  BOOST_TEST((d.original_headers == original), "failure headers are not the original's");
  BOOST_TEST(d.replay_count == 0);
  BOOST_TEST(d.dlq_topic == "txova.rides.v1.dlq");
  BOOST_TEST(d.dlq_offset == 5);
}

BOOST_AUTO_TEST_CASE(ours_keeps_binary_values_keys_and_tombstones) {
  auto f = some_failure();
  f.original_value = std::string("\x00\xff{", 3);
  f.original_key = std::string("\xfe\x01", 2);
  auto d = decode_dead_letter(as_consumed(dead_letter_record(f, "q.dlq", {}, 1 << 20))).value();
  BOOST_TEST(*d.failure.original_value == std::string("\x00\xff{", 3));
  BOOST_TEST(*d.failure.original_key == std::string("\xfe\x01", 2));
  BOOST_TEST(!d.event_type.has_value());
  f.original_value.reset();
  f.original_key.reset();
  d = decode_dead_letter(as_consumed(dead_letter_record(f, "q.dlq", {}, 1 << 20))).value();
  BOOST_TEST(!d.failure.original_value.has_value(), "a tombstone stays a tombstone");
  BOOST_TEST(!d.failure.original_key.has_value());
  f.original_value = std::string(5000, 'x');
  d = decode_dead_letter(as_consumed(dead_letter_record(f, "q.dlq", {}, 1000))).value();
  BOOST_TEST(d.value_omitted);
  BOOST_TEST(!replay_record(d).has_value(), "nothing to replay when the value was left out");
}

BOOST_AUTO_TEST_CASE(spring_kafka_dead_letters_with_binary_partition_and_offset) {
  producer_record r;
  r.topic = "orders.DLT";
  r.key = "ride-7";
  r.value = envelope_text;
  r.headers = {{"event-type", "ride.completed"},
               {"kafka_dlt-original-topic", "txova.rides.v1"},
               {"kafka_dlt-original-partition", big_endian(3, 4)},
               {"kafka_dlt-original-offset", big_endian(1234567890123ULL, 8)},
               {"kafka_dlt-exception-fqcn", "java.lang.IllegalStateException"},
               {"kafka_dlt-exception-message", "no driver"}};
  const auto d = decode_dead_letter(as_consumed(r)).value();
  BOOST_TEST((d.format == dead_letter_format::spring));
  BOOST_TEST(d.failure.original_topic == "txova.rides.v1");
  BOOST_TEST(d.failure.original_partition == 3);
  BOOST_TEST(d.failure.original_offset == 1234567890123LL);
  BOOST_TEST(d.failure.error_message == "no driver");
  BOOST_TEST(*d.failure.original_value == envelope_text);
  BOOST_TEST(*d.event_type == "ride.completed");
  BOOST_TEST_REQUIRE(d.original_headers.size() == 1u);
  BOOST_TEST(d.original_headers[0].first == "event-type");
}

BOOST_AUTO_TEST_CASE(kafka_connect_dead_letters_with_text_headers) {
  producer_record r;
  r.topic = "dlq-connect";
  r.value = envelope_text;
  r.headers = {{"__connect.errors.topic", "txova.rides.v1"},
               {"__connect.errors.partition", "2"},
               {"__connect.errors.offset", "77"},
               {"__connect.errors.connector.name", "sink"},
               {"__connect.errors.exception.message", "Converting byte[] to Kafka Connect data failed"}};
  const auto d = decode_dead_letter(as_consumed(r)).value();
  BOOST_TEST((d.format == dead_letter_format::connect));
  BOOST_TEST(d.failure.original_partition == 2);
  BOOST_TEST(d.failure.original_offset == 77);
  BOOST_TEST(d.failure.error_message.find("Converting") == 0u);
  BOOST_TEST(d.original_headers.empty());
  BOOST_TEST(*d.event_type == "ride.completed", "read from the envelope when no header says");
}

BOOST_AUTO_TEST_CASE(a_record_no_dlq_writer_made_is_refused_with_the_reason) {
  producer_record r;
  r.topic = "x.dlq";
  r.value = envelope_text;
  auto d = decode_dead_letter(as_consumed(r));
  BOOST_TEST_REQUIRE(!d.has_value());
  BOOST_TEST((d.error().code == error::not_a_dead_letter));
  BOOST_TEST(d.error().message.find("x.dlq[1]@5") != std::string::npos, d.error().message);
  r.headers = {{"kafka_dlt-original-topic", "t"}, {"kafka_dlt-original-partition", "three"}};
  d = decode_dead_letter(as_consumed(r));
  BOOST_TEST_REQUIRE(!d.has_value());
  BOOST_TEST(d.error().message.find("original-partition") != std::string::npos, d.error().message);
}

BOOST_AUTO_TEST_CASE(the_filter_takes_types_errors_topics_offsets_keys_and_times) {
  const auto d = decode_dead_letter(as_consumed(dead_letter_record(some_failure(), "q.dlq", {}, 1 << 20))).value();
  BOOST_TEST((dead_letter_filter{}.matches(d)));
  BOOST_TEST((dead_letter_filter{.types = {"ride.*"}}.matches(d)));
  BOOST_TEST((!dead_letter_filter{.types = {"payment.*"}}.matches(d)));
  BOOST_TEST((dead_letter_filter{.types = {"payment.*", "ride.completed"}}.matches(d)));
  BOOST_TEST((dead_letter_filter{.error_contains = "no driver"}.matches(d)));
  BOOST_TEST((!dead_letter_filter{.error_contains = "timeout"}.matches(d)));
  BOOST_TEST((!dead_letter_filter{.original_topic = "txova.payments.v1"}.matches(d)));
  BOOST_TEST((dead_letter_filter{.partition = 3, .min_offset = 42, .max_offset = 42}.matches(d)));
  BOOST_TEST((!dead_letter_filter{.min_offset = 43}.matches(d)));
  BOOST_TEST((!dead_letter_filter{.key = std::string("ride-8")}.matches(d)));
  BOOST_TEST((dead_letter_filter{.failed_after = parse_timestamp("2026-11-30T10:00:00Z").value(),
                                .failed_before = parse_timestamp("2026-11-30T10:00:09Z").value()}
                 .matches(d)));
  BOOST_TEST((!dead_letter_filter{.failed_after = parse_timestamp("2026-11-30T10:00:10Z").value()}.matches(d)));
}

BOOST_AUTO_TEST_CASE(a_replay_counts_and_says_where_it_came_from_and_a_second_failure_keeps_the_count) {
  const std::vector<std::pair<std::string, std::string>> original{{"event-type", "ride.completed"}};
  auto d = decode_dead_letter(as_consumed(dead_letter_record(some_failure(), "q.dlq", original, 1 << 20), 9)).value();
  auto r = replay_record(d).value();
  BOOST_TEST(r.topic == "txova.rides.v1");
  BOOST_TEST(*r.key == "ride-7");
  BOOST_TEST(*r.value == envelope_text);
  BOOST_TEST_REQUIRE(r.headers.size() == 3u);
  BOOST_TEST(r.headers[0].first == "event-type");
  BOOST_TEST(r.headers[1].first == "txova-replay-count");
  BOOST_TEST(r.headers[1].second == "1");
  BOOST_TEST(r.headers[2].second == "q.dlq/1/9");
  BOOST_TEST(replay_record(d, "elsewhere")->topic == "elsewhere");

  // The replayed record fails again: its dead letter keeps the count, the next replay adds one.
  auto again = some_failure();
  const auto second = dead_letter_record(again, "q.dlq", r.headers, 1 << 20);
  d = decode_dead_letter(as_consumed(second, 10)).value();
  BOOST_TEST(d.replay_count == 1);
  r = replay_record(d).value();
  std::size_t counts = 0;
  for (const auto& [k, v] : r.headers)
    if (k == "txova-replay-count") {
      ++counts;
      BOOST_TEST(v == "2");
    }
  BOOST_TEST(counts == 1u, "replaced, never duplicated");
}

BOOST_AUTO_TEST_SUITE_END()
