// What the producer logs on the embedded cluster (suite observability_embedded): a publish that
// fails is logged once, with event id, correlation id, topic and reason, at the configured level;
// librdkafka's lines are not repeated by ours; the logging middleware logs each success.
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "plain_client.hpp"
#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using testing::embedded_cluster;

namespace {

// Every log line while it lives, with its level.
struct captured_log {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(20000);
  captured_log() {
    auto l = std::make_shared<spdlog::logger>("captured", sink);
    l->set_level(spdlog::level::trace);
    l->set_pattern("%l|%v");
    set_logger(l);
  }
  ~captured_log() { set_logger(nullptr); }
  // Lines at info and above: what an operator reads.
  std::vector<std::string> read() const {
    std::vector<std::string> out;
    for (auto& line : sink->last_formatted()) {
      if (line.starts_with("debug|") || line.starts_with("trace|")) continue;
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      out.push_back(line);
    }
    return out;
  }
  std::vector<std::string> with(std::string_view text) const {
    std::vector<std::string> out;
    for (auto& line : read())
      if (line.find(text) != std::string::npos) out.push_back(line);
    return out;
  }
};

envelope ride_event() {
  return make_envelope(events::ride_started{ids::ride_id("ride-log"), now_utc(), location{-25.96, 32.58}},
                       event_context{.source = "log-test", .correlation_id = "corr-log-1"});
}

std::pair<error_code, delivery> publish(producer& p, asio::io_context& ioc, const envelope& e) {
  std::optional<std::pair<error_code, delivery>> out;
  p.async_publish(e, [&](error_code ec, delivery d) { out.emplace(ec, std::move(d)); });
  txova::kafka::test::run_until(ioc, [&] { return out.has_value(); }, 30s);
  return out.value_or(std::make_pair(make_error_code(error::timed_out), delivery{}));
}

producer_config embedded_config(const embedded_cluster& c) {
  producer_config cfg;
  cfg.brokers = c.bootstrap_servers();
  cfg.linger = 0ms;
  cfg.delivery_timeout = 1500ms;
  cfg.dead_letter = false;
  return cfg;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(observability_embedded, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(a_failed_publish_is_logged_once_with_what_an_operator_searches_by) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  producer p(ioc.get_executor(), embedded_config(cluster));
  BOOST_TEST_REQUIRE(!publish(p, ioc, ride_event()).first);  // connected
  captured_log log;
  BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));
  const envelope e = ride_event();
  auto [ec, d] = publish(p, ioc, e);
  BOOST_TEST_REQUIRE(ec);
  txova::kafka::test::run_until(ioc, [] { return false; }, 500ms);  // librdkafka's later lines too

  const auto lines = log.with(e.id);
  BOOST_TEST_REQUIRE(lines.size() == 1u, "lines naming the event: " << lines.size());
  const std::string& line = lines[0];
  BOOST_TEST(line.starts_with("error|"), line);
  BOOST_TEST(line.find("corr-log-1") != std::string::npos, line);
  BOOST_TEST(line.find("txova.rides.v1") != std::string::npos, line);
  BOOST_TEST(line.find("ride.started") != std::string::npos, line);
  BOOST_TEST(line.find("Message timed out") != std::string::npos, line);
  BOOST_TEST(line.find("not delivered") == line.rfind("not delivered"), "said once: " << line);

  // No line of librdkafka's is said again by ours (the error callback's copy of a FAIL line).
  const auto all = log.read();
  for (const auto& l : all) {
    const auto at = l.find("librdkafka ");
    if (at == std::string::npos) continue;
    auto text = l.substr(l.find(": ", at) + 2);
    if (auto thread = text.find("]: "); text.starts_with("[thrd:") && thread != std::string::npos) text = text.substr(thread + 3);
    std::size_t seen = 0;
    for (const auto& other : all) seen += other.find(text) != std::string::npos;
    BOOST_TEST(seen == 1u, "said " << seen << " times: " << text);
  }
}

BOOST_AUTO_TEST_CASE(the_failure_level_is_configurable_and_the_logging_middleware_logs_each_success) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  producer_config cfg = embedded_config(cluster);
  cfg.logging.each_message = true;
  cfg.logging.succeeded = log_level::info;
  cfg.logging.failed = log_level::warn;
  producer p(ioc.get_executor(), cfg);
  captured_log log;
  const envelope ok = ride_event();
  BOOST_TEST_REQUIRE(!publish(p, ioc, ok).first);
  const auto success = log.with(ok.id);
  BOOST_TEST_REQUIRE(success.size() == 1u);
  BOOST_TEST(success[0].starts_with("info|txova publish: event " + ok.id), success[0]);
  BOOST_TEST(success[0].find("txova.rides.v1[0]@") != std::string::npos, success[0]);

  BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));
  const envelope lost = ride_event();
  BOOST_TEST_REQUIRE(publish(p, ioc, lost).first);
  const auto failure = log.with(lost.id);
  BOOST_TEST_REQUIRE(failure.size() == 1u);
  BOOST_TEST(failure[0].starts_with("warning|"), failure[0]);
}

BOOST_AUTO_TEST_SUITE_END()
