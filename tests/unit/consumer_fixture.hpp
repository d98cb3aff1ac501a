#pragma once
// The consumer core over fake ports: the fixture the consumer_core_* suites share.
#include <txova/kafka/consumer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include "fake_ports.hpp"
#include "test_support.hpp"

namespace consumer_fixture {

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;


const std::string topic = "txova.rides.v1";

inline std::string ride_event() {
  event_context ctx{.source = "ride-service"};
  return to_json(make_envelope(events::ride_started{ids::ride_id("ride-1"), now_utc(), location{-25.96, 32.58}}, ctx));
}

inline record_data record_at(std::int64_t offset, std::optional<std::string> value, std::optional<std::string> key = "ride-1") {
  record_data d;
  d.topic = topic;
  d.partition = 0;
  d.offset = offset;
  d.key = std::move(key);
  d.value = std::move(value);
  return d;
}

struct fixture {
  asio::io_context ioc;
  std::shared_ptr<test::fake_consumer_state> port = std::make_shared<test::fake_consumer_state>();
  std::shared_ptr<test::fake_producer_state> dlq = std::make_shared<test::fake_producer_state>();
  std::optional<consumer> c;
  std::optional<error_code> ran;

  explicit fixture(consumer_config cfg = config()) {
    port->ex = ioc.get_executor();
    dlq->ex = ioc.get_executor();
    dlq->auto_ack = true;
    cfg.dead_letter_producer = producer_config{};
    cfg.dead_letter_producer->brokers = "fake:9092";
    cfg.dead_letter_producer->dead_letter = false;
    c.emplace(ioc.get_executor(), std::move(cfg), std::make_unique<test::fake_consumer_port>(port),
              std::make_unique<test::fake_producer_port>(dlq));
  }
  static consumer_config config() {
    consumer_config c;
    c.brokers = "fake:9092";
    c.group_id = "billing";
    c.topics = {topic};
    c.retry_backoff = 10ms;
    c.retry_backoff_max = 10ms;
    c.commit_interval = 20ms;
    c.handler_timeout = 5s;
    c.shutdown_timeout = 2s;
    return c;
  }
  void run() {
    c->async_run([this](error_code ec) { ran = ec; });
  }
  template <class Cond>
  bool run_until(Cond done, std::chrono::milliseconds limit = 5s) {
    return test::run_until(ioc, done, limit);
  }
  void run_for(std::chrono::milliseconds d) {
    ioc.run_for(d);
    ioc.restart();
  }
  void stop() {
    c->stop();
    run_until([&] { return ran.has_value(); });
  }
  std::optional<boost::json::object> dead_letter(std::size_t i) const {
    if (dlq->sent.size() <= i || !dlq->sent[i].value) return std::nullopt;
    return boost::json::parse(*dlq->sent[i].value).as_object();
  }
};


}  // namespace consumer_fixture
