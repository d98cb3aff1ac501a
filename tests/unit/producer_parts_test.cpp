// Sans-IO parts of the producer: configuration, the retry schedule and classification, DLQ records.
#include <txova/kafka/config.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/retry.hpp>

#include <librdkafka/rdkafka.h>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace txova::kafka;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(producer_config_suite)

BOOST_AUTO_TEST_CASE(defaults_are_the_documented_ones) {
  producer_config c;
  c.brokers = "127.0.0.1:9092";
  BOOST_TEST(!c.validate(), c.validate().message);
  const auto p = c.rdkafka_properties();
  BOOST_TEST(p.at("acks") == "all");
  BOOST_TEST(p.at("enable.idempotence") == "true");
  BOOST_TEST(p.at("retry.backoff.ms") == "100");
  BOOST_TEST(p.at("batch.size") == "16384");
  BOOST_TEST(p.at("linger.ms") == "5");
  BOOST_TEST(p.at("compression.codec") == "snappy");
  BOOST_TEST(p.at("message.max.bytes") == "1048576");
  BOOST_TEST(c.retries == 0, "our re-sends are off by default: they can reorder a key's events");
  BOOST_TEST(!c.resend_possibly_persisted);
}

BOOST_AUTO_TEST_CASE(validate_names_the_bad_field_and_value) {
  producer_config c;
  BOOST_TEST(c.validate().field == "brokers");
  c.brokers = "b:1";
  c.acks = "2";
  auto d = c.validate();
  BOOST_TEST(d.field == "acks");
  BOOST_TEST(d.message.find("\"2\"") != std::string::npos, d.message);
  c.acks = "1";
  BOOST_TEST(c.validate().message.find("idempotence") != std::string::npos);
  c.acks = "all";
  c.compression = "brotli";
  BOOST_TEST(c.validate().field == "compression");
  c.compression = "lz4";
  c.properties["no.such.property"] = "1";
  d = c.validate();
  BOOST_TEST(d.field == "no.such.property", d.message);
  BOOST_TEST((d.code == error::invalid_config));
}

BOOST_AUTO_TEST_CASE(from_env_reads_typed_and_pass_through_variables) {
  auto c = producer_config::from_env({{"KAFKA_BROKERS", "k1:9092,k2:9092"},
                                      {"KAFKA_CLIENT_ID", "ride-service"},
                                      {"KAFKA_PRODUCER_LINGER_MS", "20"},
                                      {"KAFKA_PRODUCER_IDEMPOTENCE", "false"},
                                      {"KAFKA_PRODUCER_ACKS", "1"},
                                      {"KAFKA_PRODUCER_SASL_MECHANISMS", "PLAIN"},
                                      {"KAFKA_PRODUCER_SASL_PASSWORD", "hunter2"},
                                      {"UNRELATED", "x"}});
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->brokers == "k1:9092,k2:9092");
  BOOST_TEST(c->client_id == "ride-service");
  BOOST_TEST(c->linger.count() == 20);
  BOOST_TEST(!c->idempotence);
  BOOST_TEST(c->properties.at("sasl.mechanisms") == "PLAIN");
  BOOST_TEST(describe(*c).find("hunter2") == std::string::npos, "secrets are never printed");
  BOOST_TEST(describe(*c).find("sasl.password=[hidden]") != std::string::npos);

  const std::map<std::string, std::string> env{{"KAFKA_PRODUCER_LINGER_MS", "soon"}};
  auto bad = producer_config::from_env(env);
  BOOST_TEST_REQUIRE(bad.has_error());
  BOOST_TEST(bad.error().message.find("KAFKA_PRODUCER_LINGER_MS=\"soon\"") != std::string::npos, bad.error().message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(retry_policy)

BOOST_AUTO_TEST_CASE(backoff_doubles_up_to_the_max_and_jitter_only_shortens) {
  backoff_policy b{100ms, 1000ms, 2.0, 0.5};
  BOOST_TEST(b.delay(1, 0.0).count() == 100);
  BOOST_TEST(b.delay(2, 0.0).count() == 200);
  BOOST_TEST(b.delay(3, 0.0).count() == 400);
  BOOST_TEST(b.delay(5, 0.0).count() == 1000);
  BOOST_TEST(b.delay(30, 0.0).count() == 1000);
  BOOST_TEST(b.delay(2, 0.999).count() == 100);  // at most half taken off
  for (int i = 0; i < 200; ++i) {
    const auto d = b.delay(3);
    BOOST_TEST((d >= 200ms && d <= 400ms));
  }
}

BOOST_AUTO_TEST_CASE(errors_are_classified) {
  BOOST_TEST((classify(make_rdkafka_error(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)) == failure_kind::transient));
  BOOST_TEST((classify(make_rdkafka_error(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)) == failure_kind::transient));
  BOOST_TEST((classify(make_rdkafka_error(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)) == failure_kind::permanent));
  BOOST_TEST((classify(make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)) == failure_kind::permanent));
  BOOST_TEST((classify(make_error_code(error::invalid_field)) == failure_kind::permanent));
  BOOST_TEST((classify(boost::system::error_code(42, boost::system::generic_category())) == failure_kind::transient));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dlq_records)

BOOST_AUTO_TEST_CASE(body_embeds_the_envelope_verbatim_and_headers_carry_the_failure) {
  dead_letter d;
  d.original_topic = "txova.rides.v1";
  d.original_partition = 2;
  d.original_offset = 41;
  d.original_key = "ride-1";
  d.original_value = R"({"id":"x","payload":{"a":1.50}})";
  d.error_message = "Broker: Not enough in-sync replicas";
  d.attempt_count = 4;
  d.first_failure = parse_timestamp("2024-01-15T10:30:00Z").value();
  d.last_failure = parse_timestamp("2024-01-15T10:30:02Z").value();
  d.consumer_group = "billing-group";
  const std::string body = to_json(d);
  BOOST_TEST(body.find(R"("envelope":{"id":"x","payload":{"a":1.50}})") != std::string::npos, body);
  const auto v = boost::json::parse(body).as_object();
  BOOST_TEST(v.at("original_offset").as_int64() == 41);
  BOOST_TEST(v.at("attempt_count").as_int64() == 4);
  BOOST_TEST(v.at("first_failure").as_string() == "2024-01-15T10:30:00Z");
  BOOST_TEST(v.at("consumer_group").as_string() == "billing-group");
  const auto h = headers(d);
  BOOST_TEST_REQUIRE(h.size() == 8u);
  BOOST_TEST(h[0].first == "kafka_dlt-original-topic");
  BOOST_TEST(h[1].second == "2");
  BOOST_TEST(h[2].second == "41");
  BOOST_TEST(h[3].second == d.error_message);
  BOOST_TEST(h[7].second == "billing-group");
}

BOOST_AUTO_TEST_CASE(raw_bytes_that_are_not_json_are_kept_in_base64) {
  dead_letter d;
  d.original_value = std::string("\xff\x00{", 3);
  const auto v = boost::json::parse(to_json(d)).as_object();
  BOOST_TEST(!v.contains("envelope"));
  BOOST_TEST(v.at("raw_base64").as_string() == "/wB7");
  BOOST_TEST(!v.contains("consumer_group"));
  BOOST_TEST(headers(d).size() == 7u);
}

BOOST_AUTO_TEST_SUITE_END()
