// Regression tests for the paths where a record was skipped, a partition wedged or the process
// aborted, on the embedded cluster (suites fault_paths and health_check_loop; the real-broker
// ones are in real_fault_paths_test.cpp).
#include "plain_client.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/detail/consumer_port.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <librdkafka/rdkafka.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <numeric>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using txova::kafka::test::run_until;
using testing::embedded_cluster;
using testing::kafka_api;

namespace {

envelope ride_event(const std::string& ride) {
  const event_context ctx{.source = "fault-test"};
  return make_envelope(events::ride_started{ids::ride_id(ride), now_utc(), location{-25.96, 32.58}}, ctx);
}

// Runs the io_context for `d` even when nothing of ours is pending (an idle client holds no work).
void run_for(asio::io_context& ioc, std::chrono::milliseconds d) {
  asio::steady_timer keep(ioc, d);
  keep.async_wait([](error_code) {});
  ioc.run_for(d);
  ioc.restart();
}

producer_config embedded_producer(const embedded_cluster& c) {
  producer_config cfg;
  cfg.brokers = c.bootstrap_servers();
  cfg.linger = 0ms;
  return cfg;
}

consumer_config embedded_consumer(const embedded_cluster& c, const std::string& topic) {
  consumer_config cfg;
  cfg.brokers = c.bootstrap_servers();
  cfg.group_id = "fault-" + new_uuid().substr(0, 8);
  cfg.topics = {topic};
  cfg.session_timeout = 6s;
  cfg.heartbeat_interval = 500ms;
  cfg.commit_interval = 100ms;
  cfg.statistics_interval = 1000ms;
  cfg.properties["fetch.wait.max.ms"] = "10";
  return cfg;
}

// Every log line while it lives.
struct captured_log {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(20000);
  captured_log() {
    auto l = std::make_shared<spdlog::logger>("captured", sink);
    l->set_level(spdlog::level::debug);
    set_logger(l);
  }
  ~captured_log() { set_logger(nullptr); }
  std::size_t count(std::string_view text) const {
    std::size_t n = 0;
    for (const auto& line : sink->last_formatted()) n += line.find(text) != std::string::npos;
    return n;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fault_paths, *boost::unit_test::timeout(240))

// Before: librdkafka reports TOPIC_AUTHORIZATION_FAILED with the partition's next fetch offset;
// the consumer dead-lettered an empty record at that offset, marked it done and later dropped
// the real record there as "seen before".
BOOST_AUTO_TEST_CASE(a_fetch_error_with_an_offset_skips_nothing) {
  embedded_cluster cluster(1);
  const std::string topic = "txova.rides.v1";
  BOOST_TEST_REQUIRE(!cluster.create_topic(topic, 1));
  BOOST_TEST_REQUIRE(!cluster.create_topic(dlq_topic(topic), 1));
  std::vector<test::record> records;
  for (int i = 0; i < 10; ++i) records.push_back({"ride-" + std::to_string(i), to_json(ride_event("ride-" + std::to_string(i)))});
  test::produce({{"bootstrap.servers", cluster.bootstrap_servers()}, {"linger.ms", "50"}}, topic, records);
  const std::array<int, 3> errors{RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                  RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED};
  cluster.push_request_errors(kafka_api::fetch, errors);

  asio::io_context ioc;
  consumer c(ioc.get_executor(), embedded_consumer(cluster, topic));
  std::vector<std::int64_t> handled;
  c.routes().on("ride.*", [&](const envelope&, message_context& m) -> asio::awaitable<void> {
    handled.push_back(m.offset());
    co_return;
  });
  std::optional<error_code> ran;
  c.async_run([&](error_code ec) { ran = ec; });
  run_until(ioc, [&] { return handled.size() >= 10; }, 60s);
  c.stop();
  run_until(ioc, [&] { return ran.has_value(); }, 30s);
  std::vector<std::int64_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  BOOST_TEST(handled == all, "every record handled once, in order");
  BOOST_TEST(c.stats().dead_lettered == 0u);
  BOOST_TEST(c.stats().poison == 0u);
}

// Before: the only broker down and the consumer reported healthy:true, assigned_partitions 3.
BOOST_AUTO_TEST_CASE(consumer_health_is_unhealthy_while_the_broker_is_down) {
  embedded_cluster cluster(1);
  const std::string topic = "txova.rides.v1";
  BOOST_TEST_REQUIRE(!cluster.create_topic(topic, 3));
  asio::io_context ioc;
  consumer c(ioc.get_executor(), embedded_consumer(cluster, topic));
  std::optional<error_code> ran;
  c.async_run([&](error_code ec) { ran = ec; });
  const auto health = [&] {
    std::optional<consumer_health> h;
    c.async_health_check([&](error_code, consumer_health r) { h = std::move(r); });
    run_until(ioc, [&] { return h.has_value(); }, 5s);
    return *h;
  };
  BOOST_TEST_REQUIRE(run_until(ioc, [&] { return c.stats().assigned == 3; }, 30s));
  BOOST_TEST(health().healthy);
  BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));
  consumer_health down;
  run_until(ioc, [&] { return !(down = health()).healthy; }, 20s);
  BOOST_TEST(!down.healthy, "the only broker is down");
  BOOST_TEST(!down.brokers_reachable);
  BOOST_TEST(down.detail.find("broker") != std::string::npos, down.detail);
  BOOST_TEST_REQUIRE(!cluster.set_broker_up(1));
  consumer_health up;
  run_until(ioc, [&] { return (up = health()).healthy; }, 30s);
  BOOST_TEST(up.healthy, "healthy again once it is back: " << up.detail);
  c.stop();
  run_until(ioc, [&] { return ran.has_value(); }, 30s);
}

// Before: a throw here unwound through librdkafka's C frames (undefined behaviour; in practice
// std::terminate). Now each callback catches and reports an internal error.
BOOST_AUTO_TEST_CASE(an_exception_in_a_librdkafka_callback_is_caught_and_reported) {
  struct throwing_sink final : detail::consumer_events {
    std::vector<std::string> internal;
    int assigned = 0;
    void on_record(consumed_record) override {}
    void on_partition_error(std::string_view, std::int32_t, error_code, std::string_view) override {}
    void on_assigned(std::vector<detail::topic_partition>) override {
      ++assigned;
      throw std::runtime_error("thrown from on_assigned");
    }
    void on_revoked(std::vector<detail::topic_partition>, bool) override {}
    void on_commit_result(error_code, std::vector<detail::partition_offset>) override {}
    void on_client_error(error_code, std::string_view, bool) override {}
    void on_statistics(std::string_view) override { throw std::bad_alloc(); }
    void on_internal_error(std::string_view where, std::string_view what) override {
      internal.push_back(std::string(where) + ": " + std::string(what));
    }
  };
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  throwing_sink sink;
  auto port = detail::make_rdkafka_consumer_port(ioc.get_executor(), embedded_consumer(cluster, "txova.rides.v1"));
  port->start(sink);
  BOOST_TEST_REQUIRE(!port->subscribe({"txova.rides.v1"}));
  port->set_busy(true);
  run_until(ioc, [&] { return sink.assigned > 0 && sink.internal.size() >= 2; }, 30s);
  BOOST_TEST(sink.assigned > 0);
  BOOST_TEST_REQUIRE(sink.internal.size() >= 2u);
  bool rebalance = false, statistics = false;
  for (const auto& s : sink.internal) {
    rebalance |= s.find("rebalance: thrown from on_assigned") != std::string::npos;
    statistics |= s.find("statistics") != std::string::npos;
  }
  BOOST_TEST(rebalance);
  BOOST_TEST(statistics);
  port->stop();
}

// Before: our retry sent a message librdkafka said may already be stored (POSSIBLY_PERSISTED
// after _MSG_TIMED_OUT): the topic then held it twice.
BOOST_AUTO_TEST_CASE(a_message_that_may_be_stored_is_not_sent_again) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1.dlq", 1));
  asio::io_context ioc;
  producer_config cfg = embedded_producer(cluster);
  cfg.retries = 2;  // even with our retries on
  cfg.delivery_timeout = 1000ms;
  cfg.properties["request.timeout.ms"] = "900";
  producer p(ioc.get_executor(), cfg);
  std::optional<error_code> warm;
  p.async_publish(ride_event("ride-0"), [&](error_code ec, delivery) { warm = ec; });
  run_until(ioc, [&] { return warm.has_value(); }, 10s);
  BOOST_TEST_REQUIRE(!*warm);
  BOOST_TEST_REQUIRE(!cluster.set_round_trip_time(1, 2500ms));  // sent, then no answer in time
  const envelope e = ride_event("ride-1");
  std::optional<error_code> ec;
  delivery d;
  p.async_publish(e, [&](error_code x, delivery del) {
    ec = x;
    d = std::move(del);
  });
  run_until(ioc, [&] { return ec.has_value(); }, 30s);
  BOOST_TEST_REQUIRE(!cluster.set_round_trip_time(1, 0ms));
  BOOST_TEST_REQUIRE(ec.has_value());
  BOOST_TEST(ec->failed(), ec->message());
  BOOST_TEST(p.stats().retried == 0u, d.error_message);
  BOOST_TEST(d.error_message.find("may have stored it") != std::string::npos, d.error_message);
  run_for(ioc, 3000ms);
  auto got = test::consume({{"bootstrap.servers", cluster.bootstrap_servers()}}, "txova.rides.v1", 1, 3, 5s);
  std::size_t copies = 0;
  for (const auto& r : got) copies += test::header(r, "event-id") == e.id;
  BOOST_TEST(copies <= 1u, "stored at most once, never duplicated by us");
}

// Before: an idempotence fatal error left publishes to time out into dead_letter_failed, and an
// idle producer noticed nothing until its next publish.
BOOST_AUTO_TEST_CASE(a_fatal_error_is_seen_while_idle_and_fails_publishes_at_once) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  const std::array<int, 1> errors{RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED};
  cluster.push_request_errors(kafka_api::init_producer_id, errors);
  captured_log log;
  asio::io_context ioc;
  producer p(ioc.get_executor(), embedded_producer(cluster));
  asio::steady_timer keep_busy(ioc, 10s);  // the io_context runs, the producer has nothing to do
  keep_busy.async_wait([](error_code) {});
  run_until(ioc, [&] { return p.stats().fatal; }, 15s);
  BOOST_TEST(p.stats().fatal, "seen without a publish");
  BOOST_TEST(log.count("fatal") >= 1u);
  std::optional<health_report> h;
  p.async_health_check(5s, [&](error_code, health_report r) { h = std::move(r); });
  run_until(ioc, [&] { return h.has_value(); }, 1s);
  BOOST_TEST_REQUIRE(h.has_value(), "answered at once");
  BOOST_TEST(!h->healthy);
  std::optional<error_code> ec;
  const auto start = std::chrono::steady_clock::now();
  p.async_publish(ride_event("ride-1"), [&](error_code x, delivery) { ec = x; });
  run_until(ioc, [&] { return ec.has_value(); }, 5s);
  BOOST_TEST_REQUIRE(ec.has_value());
  BOOST_TEST((*ec == error::fatal), ec->message());
  BOOST_TEST((std::chrono::steady_clock::now() - start < 1s), "at once, not at the delivery timeout");
  keep_busy.cancel();
}

// Before: publish_detached never waited and never refused: its pending publishes grew without
// bound while librdkafka's queue was full.
BOOST_AUTO_TEST_CASE(publish_detached_waits_for_room_only_so_deep) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));
  asio::io_context ioc;
  producer_config cfg = embedded_producer(cluster);
  cfg.max_queued_messages = 10;
  cfg.max_detached_waiting = 50;
  producer p(ioc.get_executor(), cfg);
  std::size_t refused = 0;
  for (int i = 0; i < 200; ++i) refused += p.publish_detached(ride_event("ride-1")) == error::queue_full;
  run_for(ioc, 50ms);
  BOOST_TEST(p.stats().waiting_for_room <= 50u);
  BOOST_TEST(refused == 150u, "called before the io_context runs: 50 wait to be taken, the rest are refused");
  BOOST_TEST(p.stats().rejected == 150u);
}

// Before: a publish cancelled while in flight whose delivery then failed left only a log line.
BOOST_AUTO_TEST_CASE(a_publish_cancelled_in_flight_that_fails_is_dead_lettered) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1.dlq", 1));
  asio::io_context ioc;
  producer_config cfg = embedded_producer(cluster);
  cfg.idempotence = false;  // an idempotent producer treats a rejected batch as fatal
  cfg.acks = "1";
  producer p(ioc.get_executor(), cfg);
  BOOST_TEST_REQUIRE(!cluster.push_broker_request_error(1, kafka_api::produce, RD_KAFKA_RESP_ERR_INVALID_RECORD, 500ms));
  const envelope e = ride_event("ride-1");
  asio::cancellation_signal cancel;
  std::optional<error_code> ec;
  p.async_publish(e, asio::bind_cancellation_slot(cancel.slot(), [&](error_code x, delivery) { ec = x; }));
  run_for(ioc, 100ms);
  cancel.emit(asio::cancellation_type::terminal);
  run_until(ioc, [&] { return p.stats().dead_lettered == 1; }, 10s);
  BOOST_TEST_REQUIRE(ec.has_value());
  BOOST_TEST((*ec == asio::error::operation_aborted));
  BOOST_TEST(p.stats().dead_lettered == 1u);
  BOOST_TEST(p.stats().failed_after_cancel == 1u);
  auto got = test::consume({{"bootstrap.servers", cluster.bootstrap_servers()}}, "txova.rides.v1.dlq", 1, 1, 10s);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(boost::json::parse(got[0].value).at("envelope").at("id").as_string() == e.id);
}

BOOST_AUTO_TEST_SUITE_END()

// Its own suite (and CTest entry): about a minute. Before: librdkafka 2.0.2 aborted the process
// (rd_kafka_enq_once_del_source_return: eonce->refcnt > 0) after a health check timed out
// while the broker was down and the broker came back, three times out of three.
BOOST_AUTO_TEST_SUITE(health_check_loop, *boost::unit_test::timeout(300))

BOOST_AUTO_TEST_CASE(a_health_check_that_times_out_while_the_broker_is_down_never_aborts_the_process) {
  embedded_cluster cluster(1);
  asio::io_context ioc;
  producer_config cfg = embedded_producer(cluster);
  cfg.properties["reconnect.backoff.max.ms"] = "500";  // back within the round, not after 10 s
  producer p(ioc.get_executor(), cfg);
  int unhealthy = 0, healthy_again = 0;
  for (int round = 0; round < 20; ++round) {
    BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));
    // The embedded cluster has no ListGroups: librdkafka answers the probe itself while it still
    // believes the connection is up, so give it a moment to see the disconnect.
    run_for(ioc, 300ms);
    std::optional<health_report> down;
    p.async_health_check(1s, [&](error_code, health_report r) { down = std::move(r); });
    run_until(ioc, [&] { return down.has_value(); }, 5s);
    unhealthy += down && !down->healthy;
    if (down && down->healthy) BOOST_TEST_MESSAGE("round " << round << ": healthy while down after " << down->round_trip.count() << " ms");
    BOOST_TEST_REQUIRE(!cluster.set_broker_up(1));
    run_for(ioc, 2500ms);  // the broker is back: the abort came a few seconds after this
    std::optional<health_report> up;
    for (int tries = 0; tries < 5 && !(up && up->healthy); ++tries) {
      up.reset();
      p.async_health_check(3s, [&](error_code, health_report r) { up = std::move(r); });
      run_until(ioc, [&] { return up.has_value(); }, 10s);
    }
    healthy_again += up && up->healthy;
  }
  BOOST_TEST(unhealthy == 20, "every check with the broker down said so");
  BOOST_TEST(healthy_again == 20, "and every check after it came back was healthy");
}

BOOST_AUTO_TEST_SUITE_END()
