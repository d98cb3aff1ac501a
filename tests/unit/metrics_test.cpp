// txova::kafka::metrics over the fake ports: what the middleware count and time, rendered in the
// Prometheus text format (HELP, TYPE, buckets, _sum, _count), with bounded labels.
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/metrics.hpp>
#include <txova/kafka/metrics_endpoint.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/test/unit_test.hpp>
#include <librdkafka/rdkafka.h>

#include "client_fixtures.hpp"
#include "consumer_fixture.hpp"
#include "test_support.hpp"

#include <cstdlib>
#include <sstream>
#include <thread>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;

namespace {

envelope ride_event() {
  return make_envelope(events::ride_started{ids::ride_id("ride-1"), now_utc(), location{-25.96, 32.58}},
                       event_context{.source = "ride-service"});
}

double sample(const std::string& text, const std::string& series) { return test::prometheus_sample(text, series); }

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics_exposition)

BOOST_AUTO_TEST_CASE(error_types_are_bounded_names) {
  BOOST_TEST(error_type({}).empty());
  BOOST_TEST(error_type(make_rdkafka_error(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)) == "_MSG_TIMED_OUT");
  BOOST_TEST(error_type(make_error_code(error::invalid_field)) == "invalid_field");
  BOOST_TEST(error_type(make_error_code(error::not_a_dead_letter)) == "not_a_dead_letter");
  BOOST_TEST(error_type(boost::system::error_code(5, boost::system::generic_category())) == "generic:5");
}

BOOST_AUTO_TEST_CASE(publishes_are_counted_and_timed_by_topic_and_error) {
  asio::io_context ioc;
  auto port = std::make_shared<test::fake_producer_state>();
  port->ex = ioc.get_executor();
  producer_config c;
  c.brokers = "fake:9092";
  c.retries = 0;
  c.dead_letter = false;
  producer p(ioc.get_executor(), c, std::make_unique<test::fake_producer_port>(port));
  metrics m;
  p.use(m.producer_middleware());
  int done = 0;
  for (int i = 0; i < 3; ++i) p.async_publish(ride_event(), [&](error_code, delivery) { ++done; });
  test::run_until(ioc, [&] { return port->sent.size() == 3; });
  port->report(0);
  port->report(1);
  port->report(2, make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), detail::persistence::not_persisted);
  test::run_until(ioc, [&] { return done == 3; });
  const std::string text = m.render();
  BOOST_TEST(text.find("# TYPE messaging_client_operation_duration_seconds histogram") != std::string::npos, text);
  BOOST_TEST(text.find("# HELP messaging_client_sent_messages_total") != std::string::npos);
  BOOST_TEST(sample(text, R"(messaging_client_sent_messages_total{messaging_destination_name="txova.rides.v1"})") == 2);
  BOOST_TEST(sample(text, R"(messaging_client_sent_messages_total{error_type="TOPIC_AUTHORIZATION_FAILED",messaging_destination_name="txova.rides.v1"})") == 1,
             text);
  BOOST_TEST(sample(text, R"(messaging_client_operation_duration_seconds_count{messaging_destination_name="txova.rides.v1",messaging_operation_name="send"})") == 2);
  BOOST_TEST(sample(text, R"(messaging_client_operation_duration_seconds_bucket{messaging_destination_name="txova.rides.v1",messaging_operation_name="send",le="+Inf"})") == 2);
  BOOST_TEST(text.find("le=\"0.005\"") != std::string::npos, "OpenTelemetry's buckets, from 5 ms");
  BOOST_TEST(text.find("ride-1") == std::string::npos, "no keys or ids in labels");
}

// A real Prometheus text parser (prometheus_client, from Debian) scrapes the endpoint over HTTP
// while it serves from the io_context's own thread.
BOOST_AUTO_TEST_CASE(an_http_scrape_parses_with_prometheus_client_and_health_says_why) {
  asio::io_context ioc;
  auto port = std::make_shared<test::fake_producer_state>();
  port->ex = ioc.get_executor();
  producer_config c;
  c.brokers = "fake:9092";
  c.retries = 0;
  c.dead_letter = false;
  producer p(ioc.get_executor(), c, std::make_unique<test::fake_producer_port>(port));
  metrics m;
  p.use(m.producer_middleware());
  int done = 0;
  for (int i = 0; i < 3; ++i) p.async_publish(ride_event(), [&](error_code, delivery) { ++done; });
  test::run_until(ioc, [&] { return port->sent.size() == 3; });
  port->report(0);
  port->report(1);
  port->report(2, make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), detail::persistence::not_persisted);
  test::run_until(ioc, [&] { return done == 3; });

  metrics_endpoint http(ioc.get_executor(), m, {.address = "127.0.0.1", .port = 0});
  http.add_readiness_check("producer", []() -> asio::awaitable<std::string> { co_return "not yet connected"; });
  std::optional<error_code> served;
  http.async_run([&](error_code ec) { served = ec; });
  ioc.restart();
  auto guard = asio::make_work_guard(ioc);
  std::thread server([&] { ioc.run(); });
  const std::string cmd = "/usr/bin/python3 " + std::string(TXOVA_TEST_DATA_DIR) + "/scrape_check.py http://127.0.0.1:" +
                          std::to_string(http.port());
  const int rc = std::system(cmd.c_str());
  asio::post(ioc, [&] {
    http.stop();
    guard.reset();
  });
  server.join();
  BOOST_TEST(rc == 0, cmd << " exited with " << rc);
  BOOST_TEST_REQUIRE(served.has_value());
  BOOST_TEST(!*served, served->message());
}

BOOST_AUTO_TEST_CASE(handler_attempts_are_counted_timed_and_retries_seen) {
  consumer_config cfg = consumer_fixture::fixture::config();
  cfg.max_retries = 2;
  consumer_fixture::fixture f(cfg);
  consumer& c = *f.c;
  metrics m;
  c.use(m.consumer_middleware());
  int calls = 0;
  c.routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    if (++calls == 1) throw transient_error("fare service down");
    co_return;
  });
  f.run();
  f.port->assign({{consumer_fixture::topic, 3}});
  record_data d = consumer_fixture::record_at(0, consumer_fixture::ride_event());
  d.partition = 3;
  f.port->record(d);
  BOOST_TEST_REQUIRE(f.run_until([&] { return c.stats().handled == 1; }));
  const std::string text = m.render();
  const std::string labels =
      R"(messaging_consumer_group_name="billing",messaging_destination_name="txova.rides.v1",messaging_destination_partition_id="3")";
  BOOST_TEST(sample(text, "messaging_client_consumed_messages_total{" + labels + "}") == 1, text);
  BOOST_TEST(sample(text, "messaging_client_consumed_messages_total{error_type=\"transient\"," + labels + "}") == 1, text);
  BOOST_TEST(sample(text, "messaging_process_duration_seconds_count{" + labels + "}") == 1);
  BOOST_TEST(sample(text, "txova_consumer_retries_total{" + labels + "}") == 1);
  f.stop();
}

BOOST_AUTO_TEST_SUITE_END()
