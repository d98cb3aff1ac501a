// How a service on txova-kafka tests its handlers: no broker, no cluster, milliseconds per test.
// The handler driver runs the consumer's own routes (retries, timeouts, DLQ) on one record; the
// recording producer stands in for the producer and keeps what was published.
#define BOOST_TEST_MODULE billing_service
#include <boost/test/unit_test.hpp>

#include "billing_service.hpp"

#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/testing/envelopes.hpp>
#include <txova/kafka/testing/handler_driver.hpp>
#include <txova/kafka/testing/recording_producer.hpp>

#include <librdkafka/rdkafka.h>  // error codes to inject

namespace kafka = txova::kafka;
namespace testing = txova::kafka::testing;
using namespace kafka;

namespace {

events::ride_completed ride(std::string id, std::int64_t fare) {
  return {ids::ride_id(std::move(id)), parse_timestamp("2026-11-20T10:00:00Z").value(), 7.5, 19, money::minor(fare, "MZN")};
}

// The service wired to the test kit: its routes on the driver, its producer recording.
struct billing_fixture {
  testing::handler_driver driver;  // runs its own io_context
  testing::recording_producer payments{driver.get_executor(), [] {
                                          producer_config c;
                                          c.retries = 0;         // a refused publish fails at once,
                                          c.dead_letter = false;  // to the handler, which throws
                                          return c;
                                        }()};
  billing::billing_service service{payments.producer()};
  billing_fixture() { service.add_routes(driver.routes()); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_completed_ride_is_billed_as_a_follow_up, billing_fixture) {
  const auto request = testing::envelope_for(ride("ride-7", 25000)).correlation("c-1").deterministic(1);
  const auto outcome = driver.drive(request.consumed("txova.rides.v1", 0, 42));

  BOOST_TEST(outcome.handled(), outcome.reason);
  BOOST_TEST(outcome.attempts == 1);
  const auto published = payments.store().events("payment.*");
  BOOST_TEST_REQUIRE(published.size() == 1u);
  BOOST_TEST(published[0].type == "payment.initiated");
  BOOST_TEST(published[0].correlation_id == "c-1");
  BOOST_TEST(published[0].causation_id.value_or("") == request.build().id);
  BOOST_TEST(published[0].source == "billing");
  const auto stored = payments.store().with_key("pay-ride-7");
  BOOST_TEST_REQUIRE(stored.size() == 1u);
  BOOST_TEST(stored[0].record.topic == "txova.payments.v1");
  BOOST_TEST(stored[0].record.partition == testing::partition_for("pay-ride-7", 3), "the real partitioner's choice");
  BOOST_TEST(payments.store().caused_by(request.build()).size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_ride_without_a_fare_is_skipped_not_retried, billing_fixture) {
  const auto outcome = driver.drive(testing::envelope_for(ride("ride-8", 0)).consumed("txova.rides.v1"));
  BOOST_TEST(outcome.skipped(), testing::to_string(outcome.result));
  BOOST_TEST(outcome.attempts == 1);
  BOOST_TEST(outcome.reason == "ride ride-8 has no fare to bill");
  BOOST_TEST(payments.store().size() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_refused_payment_is_retried_then_published, billing_fixture) {
  payments.fail_next(2, make_rdkafka_error(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT));
  const auto outcome = driver.drive(testing::envelope_for(ride("ride-9", 18000)).consumed("txova.rides.v1"));
  BOOST_TEST(outcome.handled(), outcome.reason);
  BOOST_TEST(outcome.attempts == 3);
  BOOST_TEST(outcome.backoffs.size() == 2u, "two waits, on the virtual clock: the test does not sleep them");
  BOOST_TEST(payments.store().events("payment.initiated").size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_payment_that_keeps_failing_ends_in_the_dlq_with_the_reason, billing_fixture) {
  payments.fail_next(100, make_rdkafka_error(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT));
  const auto outcome = driver.drive(testing::envelope_for(ride("ride-10", 18000)).consumed("txova.rides.v1", 1, 5));
  BOOST_TEST(outcome.dead_lettered(), testing::to_string(outcome.result));
  BOOST_TEST(outcome.attempts == 4, "the first attempt and max_retries = 3 more");
  BOOST_TEST_REQUIRE(outcome.dead_letter.has_value());
  BOOST_TEST(outcome.dead_letter->failure.original_topic == "txova.rides.v1");
  BOOST_TEST(outcome.dead_letter->failure.original_offset == 5);
  BOOST_TEST(outcome.dead_letter->failure.error_message.find("timed out") != std::string::npos,
             outcome.dead_letter->failure.error_message);
  BOOST_TEST(outcome.dead_letter_record->record.topic == "txova.rides.v1.dlq");
}
