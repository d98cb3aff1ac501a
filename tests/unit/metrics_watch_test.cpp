// metrics::watch and metrics::replay_observer over the fake ports: the consumer's own counters
// (timeouts, dead letters, poison records, rebalances, commits, malformed traceparents) and its
// lag per partition, the producer's, and a replayer's outcomes, as a scrape renders them.
#include <txova/kafka/metrics.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/replay.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include "client_fixtures.hpp"
#include "consumer_fixture.hpp"

#include <sstream>

using namespace consumer_fixture;

namespace {
double sample(const std::string& text, const std::string& series) { return test::prometheus_sample(text, series); }
}  // namespace

BOOST_AUTO_TEST_SUITE(metrics_watch)

BOOST_AUTO_TEST_CASE(a_watched_consumer_exposes_its_counters_and_lag) {
  auto cfg = fixture::config();
  cfg.max_retries = 0;
  cfg.handler_timeout = 50ms;
  fixture f(cfg);
  metrics m;
  m.watch(f.c->telemetry());
  f.c->routes().on("ride.*", [&](const envelope&, message_context& ctx) -> asio::awaitable<void> {
    if (ctx.offset() == 1) throw permanent_error("refused");  // dead-lettered
    if (ctx.offset() == 2) {                                   // times out, then dead-lettered
      asio::steady_timer t(co_await asio::this_coro::executor, 10s);
      co_await t.async_wait(asio::use_awaitable);
    }
    (void)ctx.trace();  // reads the traceparent
  });
  f.run();
  f.port->watermarks[{topic, 0}] = {0, 10};
  f.port->assign({{topic, 0}});
  auto traced = record_at(0, ride_event());
  traced.headers = {{"traceparent", "00-bad-01"}};
  f.port->record(traced);
  f.port->record(record_at(1, ride_event()));
  f.port->record(record_at(2, ride_event()));
  f.port->record(record_at(3, std::string("not json")));  // poison
  f.port->record(record_at(4, ride_event()));
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.c->stats().handled == 2 && f.c->stats().dead_lettered == 3 && f.c->stats().commits > 0; }));
  f.run_for(100ms);  // a tick or two: the lag snapshot

  const std::string text = m.render();
  const std::string group = R"({messaging_consumer_group_name="billing"})";
  BOOST_TEST(sample(text, "txova_consumer_timeouts_total" + group) == 1, text);
  BOOST_TEST(sample(text, "txova_consumer_dead_letters_total" + group) == 3);
  BOOST_TEST(sample(text, "txova_consumer_poison_records_total" + group) == 1);
  BOOST_TEST(sample(text, "txova_consumer_handled_total" + group) == 2);
  BOOST_TEST(sample(text, "txova_consumer_malformed_traceparents_total" + group) == 1);
  BOOST_TEST(sample(text, "txova_consumer_rebalances_total" + group) >= 1);
  BOOST_TEST(sample(text, "txova_consumer_commits_total" + group) >= 1);
  BOOST_TEST(sample(text, "txova_consumer_assigned_partitions" + group) == 1);
  BOOST_TEST(text.find("# TYPE txova_consumer_dead_letters_total counter") != std::string::npos);
  BOOST_TEST(text.find("# TYPE txova_consumer_lag gauge") != std::string::npos);
  // All five done: the high watermark 10 less the next offset to commit, 5.
  BOOST_TEST(sample(text, R"(txova_consumer_lag{messaging_consumer_group_name="billing",messaging_destination_name="txova.rides.v1",messaging_destination_partition_id="0",source="tracker"})") == 5, text);

  // A counter only grows: a second render adds what happened since.
  f.port->record(record_at(5, ride_event()));
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.c->stats().handled == 3; }));
  BOOST_TEST(sample(m.render(), "txova_consumer_handled_total" + group) == 3);

  // Revoked: the partition's lag series go.
  f.port->revoke({{topic, 0}});
  f.run_for(100ms);
  BOOST_TEST(m.render().find("txova_consumer_lag{") == std::string::npos);
  f.stop();
}

BOOST_AUTO_TEST_CASE(a_watched_producer_and_a_replayer_are_counted) {
  test::fake_producer f([](producer_config& c) { c.client_id = "ride-service"; });
  auto& ioc = f.ioc;
  producer& p = *f.p;
  metrics m;
  m.watch(p.telemetry());
  int done = 0;
  for (int i = 0; i < 3; ++i)
    p.async_publish(make_envelope(events::ride_started{ids::ride_id("ride-1"), now_utc(), location{-25.96, 32.58}},
                                  event_context{.source = "ride-service"}),
                    [&](error_code, delivery) { ++done; });
  envelope bad = make_envelope("ride.started", "1.0", "{}", event_context{.source = "ride-service"});
  bad.version = "one";  // refused before it is sent
  p.async_publish(bad, [&](error_code, delivery) { ++done; });
  BOOST_TEST_REQUIRE(test::run_until(ioc, [&] { return done == 4; }));
  const std::string text = m.render();
  BOOST_TEST(sample(text, R"(txova_producer_acknowledged_total{messaging_client_id="ride-service"})") == 3, text);
  BOOST_TEST(sample(text, R"(txova_producer_failed_total{messaging_client_id="ride-service"})") == 1);
  BOOST_TEST(sample(text, R"(txova_producer_in_flight{messaging_client_id="ride-service"})") == 0);

  auto observe = m.replay_observer();
  record_data dl;
  dl.topic = "txova.rides.v1.dlq";
  consumed_record r(dl);
  decoded_dead_letter letter;
  letter.failure.original_topic = "txova.rides.v1";
  observe(replay_event{replay_outcome::replayed, &letter, r, ""});
  observe(replay_event{replay_outcome::replayed, &letter, r, ""});
  observe(replay_event{replay_outcome::undecodable, nullptr, r, "not a dead letter"});
  const std::string after = m.render();
  BOOST_TEST(sample(after, R"(txova_replay_records_total{messaging_destination_name="txova.rides.v1",outcome="replayed"})") == 2, after);
  BOOST_TEST(sample(after, R"(txova_replay_records_total{messaging_destination_name="_unknown",outcome="undecodable"})") == 1);
}

BOOST_AUTO_TEST_SUITE_END()
