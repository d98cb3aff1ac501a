// The code a newcomer writes first (suite obvious_api, embedded cluster): co_await without a
// token, braced temporaries inside co_await, typed events that break their own rules, the
// exception a failed publish throws, routes that cannot be registered, and an io_context run by
// four threads. Runs under ASan + UBSan in the test preset.
#include "plain_client.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <thread>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using testing::embedded_cluster;

namespace {

events::ride_completed ride(std::string id, double km = 12.5, money fare = money::minor(35000, "MZN")) {
  return events::ride_completed{ids::ride_id(std::move(id)), now_utc(), km, 23, std::move(fare)};
}

producer_config producer_for(const embedded_cluster& c) {
  producer_config cfg;
  cfg.brokers = c.bootstrap_servers();
  cfg.linger = 1ms;
  return cfg;
}

// Runs `body` as a coroutine on `ioc` to its end; rethrows what it threw.
template <class Body>
void run_coroutine(asio::io_context& ioc, Body body) {
  std::exception_ptr failed;
  bool done = false;
  asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) {
    failed = e;
    done = true;
  });
  ioc.run();
  ioc.restart();
  BOOST_TEST_REQUIRE(done);
  if (failed) std::rethrow_exception(failed);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(obvious_api, *boost::unit_test::timeout(240))

BOOST_AUTO_TEST_CASE(co_await_without_a_token_and_braced_temporaries_just_work) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  producer p(ioc.get_executor(), producer_for(cluster));
  std::vector<delivery> got;
  run_coroutine(ioc, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      // Braced temporaries with strings made on the spot: GCC 12 destroyed these twice.
      got.push_back(co_await p.async_publish(ride("ride-" + std::to_string(i)),
                                             event_context{.source = "ride-service", .correlation_id = "req-" + std::to_string(i)}));
      got.push_back(co_await p.async_publish(
          ride("ride-x"), event_context{.source = "ride-service", .actor = context_actor{"u-" + std::to_string(i), "user"}},
          publish_options{.key = "key-" + std::to_string(i)}, asio::use_awaitable));
    }
    const envelope e = make_envelope(ride("ride-9"), event_context{.source = "ride-service"});
    got.push_back(co_await p.async_publish(e));
    auto [ec, left] = co_await p.async_flush(5s, asio::as_tuple(asio::deferred));
    BOOST_TEST(!ec);
    BOOST_TEST(left == 0u);
    health_report h = co_await p.async_health_check(5s);
    BOOST_TEST(h.healthy, h.detail);
  });
  BOOST_TEST_REQUIRE(got.size() == 7u);
  for (const auto& d : got) {
    BOOST_TEST(d.offset >= 0);
    BOOST_TEST(d.event_id.size() == 36u, "the delivery names the event");
  }
  auto records = test::consume({{"bootstrap.servers", cluster.bootstrap_servers()}}, "txova.rides.v1", 1, 7, 10s);
  BOOST_TEST_REQUIRE(records.size() == 7u);
  BOOST_TEST(test::header(records[0], "correlation-id") == "req-0");
  BOOST_TEST(records[1].key == "key-0");
  BOOST_TEST(parse_envelope(records[1].value).value().actor->id == "u-0");
}

BOOST_AUTO_TEST_CASE(a_typed_event_that_breaks_its_rules_fails_at_once_naming_the_field_and_is_never_sent) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  producer p(ioc.get_executor(), producer_for(cluster));
  const std::vector<std::pair<events::ride_completed, std::string>> bad{
      {ride("r", 12.5, money::minor(100, "mzn")), "payload.fare currency \"mzn\" is not an ISO 4217 code"},
      {ride("r", 12.5, money::minor(100, "MZNX")), "payload.fare currency \"MZNX\" is not an ISO 4217 code"},
      {ride("r", -1), "payload distance_km -1 is negative"},
      {ride("r", 12.5, money::minor(-5, "MZN")), "payload fare amount -5 is negative"},
      {ride("r", std::nan("")), "payload.distance_km is not a finite number"},
      {ride("r", INFINITY), "payload.distance_km is not a finite number"},
      {ride(""), "payload.ride_id must not be empty"},
  };
  run_coroutine(ioc, [&]() -> asio::awaitable<void> {
    const event_context ctx{.source = "ride-service"};
    for (const auto& [event, why] : bad) {
      try {
        co_await p.async_publish(event, ctx);  // the default token: deferred, co_awaited
        BOOST_ERROR("published " << why);
      } catch (const publish_error& e) {
        BOOST_TEST(e.delivery().error_message.find(why) != std::string::npos, e.delivery().error_message);
        BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, e.what());
        BOOST_TEST(e.delivery().attempts == 0, "never sent");
      }
    }
    // An envelope of a catalog type gets the same rules, from its payload.
    envelope raw = make_envelope(ride("r"), ctx);
    raw.payload = R"({"ride_id":"r","end_time":"2026-01-01T00:00:00Z","distance_km":-3,"duration_mins":1,"fare":{"amount":1,"currency":"MZN"}})";
    auto [ec, d] = co_await p.async_publish(raw, asio::as_tuple(asio::use_awaitable));
    BOOST_TEST((ec == error::invalid_field), ec.message());
    BOOST_TEST(d.error_message.find("distance_km -3 is negative") != std::string::npos, d.error_message);
  });
  BOOST_TEST(p.stats().sent == 0u);
  BOOST_TEST(p.stats().failed == bad.size() + 1);
}

BOOST_AUTO_TEST_CASE(a_failed_publish_throws_publish_error_with_the_delivery_for_use_awaitable_too) {
  embedded_cluster cluster(1);
  asio::io_context ioc;
  producer_config cfg = producer_for(cluster);
  cfg.max_message_bytes = 1000;
  producer p(ioc.get_executor(), cfg);
  run_coroutine(ioc, [&]() -> asio::awaitable<void> {
    envelope e = make_envelope(ride("ride-1"), event_context{.source = "svc"});
    e.payload.insert(e.payload.size() - 1, ",\"pad\":\"" + std::string(2000, 'x') + "\"");
    try {
      co_await p.async_publish(e, asio::use_awaitable);
      BOOST_ERROR("an oversized envelope was published");
    } catch (const publish_error& x) {
      BOOST_TEST((x.code() == error::too_large));
      BOOST_TEST(x.delivery().event_id == e.id);
      BOOST_TEST(x.delivery().error_message.find("over max_message_bytes 1000") != std::string::npos);
    }
  });
}

BOOST_AUTO_TEST_CASE(a_route_that_cannot_be_registered_throws_and_routes_freeze_once_running) {
  embedded_cluster cluster(1);
  asio::io_context ioc;
  consumer_config cfg;
  cfg.brokers = cluster.bootstrap_servers();
  cfg.service = "billing";
  cfg.topics = {"txova.rides.v1"};
  consumer c(ioc.get_executor(), cfg);
  const auto handler = [](const envelope&, message_context&) -> asio::awaitable<void> { co_return; };
  BOOST_CHECK_THROW(c.routes().on("User.*", handler), diagnostic_error);
  const diagnostic d = c.routes().try_on("User.*", handler);
  BOOST_TEST((d.code == error::invalid_config));
  BOOST_TEST(d.message.find("User.*") != std::string::npos, d.message);
  c.routes().on("user.*", handler).template on<events::ride_completed>(
      [](const events::ride_completed&, message_context&) -> asio::awaitable<void> { co_return; });
  std::optional<error_code> ran;
  c.async_run([&](error_code ec) { ran = ec; });
  ioc.run_for(200ms);
  ioc.restart();
  try {
    c.routes().on("driver.*", handler);
    BOOST_ERROR("a route was added to a running consumer");
  } catch (const diagnostic_error& e) {
    BOOST_TEST(std::string(e.what()).find("frozen") != std::string::npos, e.what());
  }
  c.stop();
  while (!ran) {
    ioc.run_for(50ms);
    ioc.restart();
  }
}

BOOST_AUTO_TEST_CASE(producer_and_consumer_on_an_io_context_run_by_four_threads) {
  embedded_cluster cluster(1);
  const std::string topic = "txova.rides.v1";
  BOOST_TEST_REQUIRE(!cluster.create_topic(topic, 4));
  asio::io_context ioc;
  producer p(ioc.get_executor(), producer_for(cluster));
  consumer_config cc;
  cc.brokers = cluster.bootstrap_servers();
  cc.group_id = "four-threads";
  cc.topics = {topic};
  cc.commit_interval = 100ms;
  cc.properties["fetch.wait.max.ms"] = "10";
  consumer c(ioc.get_executor(), cc);
  std::atomic<int> handled{0};
  c.routes().on<events::ride_completed>([&](const events::ride_completed&, message_context&) -> asio::awaitable<void> {
    ++handled;
    co_return;
  });
  std::atomic<int> acked{0}, failed{0};
  std::atomic<bool> ran{false};
  c.async_run([&](error_code) { ran = true; });
  for (int w = 0; w < 8; ++w)
    asio::co_spawn(ioc, [&, w]() -> asio::awaitable<void> {
      for (int i = 0; i < 250; ++i) {
        auto [ec, d] = co_await p.async_publish(ride("ride-" + std::to_string(w * 1000 + i)),
                                                event_context{.source = "load"}, asio::as_tuple(asio::deferred));
        (ec ? failed : acked)++;
        if (i % 50 == 0) (void)p.stats();  // from whichever thread runs this
      }
    }, asio::detached);
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (int i = 0; i < 600 && handled < 2000; ++i) {
      t.expires_after(50ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    c.stop();
  }, asio::detached);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();
  BOOST_TEST(acked == 2000);
  BOOST_TEST(failed == 0);
  BOOST_TEST(handled >= 2000, "at least once");
  BOOST_TEST(ran);
  BOOST_TEST(p.stats().sent == 2000u);
}

BOOST_AUTO_TEST_SUITE_END()
