// The consumer's core over fake ports: revocations while a handler runs, commit failures after a
// revoke, DLQ writes that fail, partition errors, tombstones, binary keys, internal errors and
// health, without a broker.
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/detail/base64.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <librdkafka/rdkafka.h>

#include "fake_ports.hpp"
#include "test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using detail::topic_partition;

#include "consumer_fixture.hpp"

using namespace consumer_fixture;

BOOST_AUTO_TEST_SUITE(consumer_core_faults)

BOOST_AUTO_TEST_CASE(a_revoke_while_a_record_is_in_its_handler_waits_for_it_commits_it_then_unassigns) {
  fixture f;
  std::vector<std::int64_t> started;
  asio::steady_timer gate(f.ioc, asio::steady_timer::time_point::max());
  f.c->routes().on("ride.*", [&](const envelope&, message_context& m) -> asio::awaitable<void> {
    started.push_back(m.offset());
    co_await gate.async_wait(asio::as_tuple(asio::use_awaitable));
  });
  f.run();
  f.port->assign({{topic, 0}});
  for (int i = 0; i < 3; ++i) f.port->record(record_at(i, ride_event()));
  BOOST_TEST_REQUIRE(f.run_until([&] { return started.size() == 1; }));
  f.port->revoke({{topic, 0}});
  f.run_for(100ms);
  BOOST_TEST(f.port->unassigned.empty(), "not given back while its handler runs");
  BOOST_TEST(f.port->committed(topic, 0) < 1);
  gate.cancel();  // the handler finishes
  BOOST_TEST_REQUIRE(f.run_until([&] { return !f.port->unassigned.empty(); }));
  BOOST_TEST(f.port->committed(topic, 0) == 1, "the handled record, not the two dropped behind it");
  BOOST_TEST(started.size() == 1u, "nothing more started once revoked");
  BOOST_TEST(f.c->stats().handled == 1u);
  f.stop();
}

BOOST_AUTO_TEST_CASE(a_commit_failure_after_a_revoke_still_gives_the_partition_back) {
  fixture f;
  f.port->auto_commit_ok = false;
  f.c->routes().on("ride.*", [](const envelope&, message_context&) -> asio::awaitable<void> { co_return; });
  f.run();
  f.port->assign({{topic, 0}});
  f.port->record(record_at(0, ride_event()));
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.c->stats().handled == 1; }));
  const std::size_t before = f.port->commits.size();
  f.port->revoke({{topic, 0}});
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.port->commits.size() > before; }));
  f.port->answer_commit(f.port->commits.back(), make_rdkafka_error(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION));
  BOOST_TEST(f.run_until([&] { return !f.port->unassigned.empty(); }, 2s), "not after the 10 s commit deadline");
  f.stop();
}

BOOST_AUTO_TEST_CASE(a_dead_letter_that_cannot_be_written_stops_the_consumer_with_the_record_the_dlq_and_the_reason) {
  auto cfg = fixture::config();
  cfg.dead_letter_attempts = 2;
  fixture f(cfg);
  f.dlq->auto_ack = false;
  f.c->routes().on("ride.*", [](const envelope&, message_context&) -> asio::awaitable<void> {
    throw permanent_error("ride has no driver");
    co_return;
  });
  f.run();
  f.port->assign({{topic, 0}});
  f.port->record(record_at(0, ride_event()));
  for (std::size_t i = 0; i < 2; ++i) {
    BOOST_TEST_REQUIRE(f.run_until([&] { return f.dlq->sent.size() == i + 1; }));
    f.dlq->report(i, make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
                  detail::persistence::not_persisted);
  }
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.ran.has_value(); }));
  BOOST_TEST((*f.ran == error::dead_letter_failed), f.ran->message());
  const std::string why = f.c->failure().message;
  BOOST_TEST(why.find(topic + "[0]@0") != std::string::npos, why);
  BOOST_TEST(why.find(topic + ".dlq") != std::string::npos, why);
  BOOST_TEST(why.find("authorization") != std::string::npos, why);
  BOOST_TEST(f.port->committed(topic, 0) < 1, "the record stays uncommitted");
  BOOST_TEST(f.dlq->sent.size() == 2u, "bounded: dead_letter_attempts");
}

BOOST_AUTO_TEST_CASE(keep_retrying_reports_the_partition_stuck_until_the_dlq_takes_it) {
  auto cfg = fixture::config();
  cfg.dead_letter_attempts = 1;
  cfg.on_dead_letter_failure = dead_letter_failure::keep_retrying;
  fixture f(cfg);
  f.dlq->auto_ack = false;
  f.c->routes().on("ride.*", [](const envelope&, message_context&) -> asio::awaitable<void> {
    throw permanent_error("nope");
    co_return;
  });
  f.run();
  f.port->assign({{topic, 0}});
  f.port->record(record_at(0, ride_event()));
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.dlq->sent.size() == 1; }));
  f.dlq->report(0, make_rdkafka_error(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), detail::persistence::not_persisted);
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.c->stats().stuck == 1; }));
  std::optional<consumer_health> h;
  f.c->async_health_check([&](error_code, consumer_health r) { h = std::move(r); });
  f.run_until([&] { return h.has_value(); });
  BOOST_TEST(!h->healthy);
  BOOST_TEST(h->detail.find("stuck") != std::string::npos, h->detail);
  BOOST_TEST(h->stuck_partitions.size() == 1u);
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.dlq->sent.size() == 2; }));
  f.dlq->report(1);
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.port->committed(topic, 0) == 1; }));
  BOOST_TEST(f.c->stats().stuck == 0u);
  f.stop();
}

BOOST_AUTO_TEST_CASE(a_partition_error_is_reported_and_skips_nothing) {
  fixture f;
  std::vector<std::int64_t> handled;
  f.c->routes().on("ride.*", [&](const envelope&, message_context& m) -> asio::awaitable<void> {
    handled.push_back(m.offset());
    co_return;
  });
  f.run();
  f.port->assign({{topic, 0}});
  f.port->post([](detail::consumer_events& s) {
    s.on_partition_error(topic, 0, make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), "Fetch failed");
  });
  for (int i = 0; i < 3; ++i) f.port->record(record_at(i, ride_event()));
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.port->committed(topic, 0) == 3; }));
  BOOST_TEST((handled == std::vector<std::int64_t>{0, 1, 2}));
  BOOST_TEST(f.dlq->sent.empty(), "a partition error is no poison record");
  BOOST_TEST(f.c->stats().partition_errors == 1u);
  f.stop();
}

BOOST_AUTO_TEST_CASE(tombstones_are_committed_and_counted_or_dead_lettered_as_such) {
  {
    fixture f;
    int handled = 0;
    f.c->routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
      ++handled;
      co_return;
    });
    f.run();
    f.port->assign({{topic, 0}});
    f.port->record(record_at(0, std::nullopt));
    f.port->record(record_at(1, ride_event()));
    BOOST_TEST_REQUIRE(f.run_until([&] { return f.port->committed(topic, 0) == 2; }));
    BOOST_TEST(handled == 1);
    BOOST_TEST(f.c->stats().tombstones == 1u);
    BOOST_TEST(f.dlq->sent.empty());
    f.stop();
  }
  auto cfg = fixture::config();
  cfg.tombstones = tombstone_policy::dead_letter;
  fixture f(cfg);
  f.run();
  f.port->assign({{topic, 0}});
  f.port->record(record_at(0, std::nullopt));
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.port->committed(topic, 0) == 1; }));
  auto body = f.dead_letter(0);
  BOOST_TEST_REQUIRE(body.has_value());
  BOOST_TEST(body->at("tombstone").as_bool());
  BOOST_TEST(!body->contains("raw_base64"), "not an empty value");
  f.stop();
}

BOOST_AUTO_TEST_CASE(a_binary_key_reaches_the_dlq_exactly) {
  fixture f;
  const std::string key("\x00\xff\xfe\x01k", 5);
  f.run();
  f.port->assign({{topic, 0}});
  f.port->record(record_at(0, std::string("not json"), key));
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.port->committed(topic, 0) == 1; }));
  auto body = f.dead_letter(0);
  BOOST_TEST_REQUIRE(body.has_value());
  BOOST_TEST(!body->contains("original_key"));
  BOOST_TEST(body->at("original_key_base64").as_string() == detail::base64(key));
  BOOST_TEST(body->at("raw_base64").as_string() == detail::base64("not json"));
  BOOST_TEST(*f.dlq->sent[0].key == key, "the DLQ record is keyed by the same bytes");
  f.stop();
}

BOOST_AUTO_TEST_CASE(an_exception_caught_in_a_librdkafka_callback_stops_the_consumer_with_its_reason) {
  fixture f;
  f.run();
  f.port->assign({{topic, 0}});
  f.port->post([](detail::consumer_events& s) { s.on_internal_error("rebalance", "std::bad_alloc"); });
  BOOST_TEST_REQUIRE(f.run_until([&] { return f.ran.has_value(); }));
  BOOST_TEST((*f.ran == error::internal));
  BOOST_TEST(f.c->failure().message.find("rebalance") != std::string::npos, f.c->failure().message);
}

BOOST_AUTO_TEST_CASE(health_is_unhealthy_while_no_broker_is_reachable) {
  fixture f;
  f.c->routes().on("ride.*", [](const envelope&, message_context&) -> asio::awaitable<void> { co_return; });
  f.run();
  f.port->assign({{topic, 0}});
  const auto health = [&] {
    std::optional<consumer_health> h;
    f.c->async_health_check([&](error_code, consumer_health r) { h = std::move(r); });
    f.run_until([&] { return h.has_value(); });
    return *h;
  };
  f.run_for(10ms);
  const auto before = health();
  BOOST_TEST(before.healthy, before.detail);
  f.port->post([](detail::consumer_events& s) {
    s.on_client_error(make_rdkafka_error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN), "1/1 brokers are down", false);
  });
  f.run_for(10ms);
  auto h = health();
  BOOST_TEST(!h.healthy);
  BOOST_TEST(!h.brokers_reachable);
  BOOST_TEST(h.detail.find("no broker") != std::string::npos, h.detail);
  f.port->record(record_at(0, ride_event()));  // a broker answered
  f.run_for(20ms);
  h = health();
  BOOST_TEST(h.healthy, h.detail);
  f.stop();
}

BOOST_AUTO_TEST_CASE(a_lost_partition_commits_nothing_and_is_given_back) {
  fixture f;
  asio::steady_timer gate(f.ioc, asio::steady_timer::time_point::max());
  bool started = false;
  f.c->routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    started = true;
    co_await gate.async_wait(asio::as_tuple(asio::use_awaitable));
  });
  f.run();
  f.port->assign({{topic, 0}});
  f.port->record(record_at(0, ride_event()));
  BOOST_TEST_REQUIRE(f.run_until([&] { return started; }));
  const std::size_t before = f.port->commits.size();
  f.port->revoke({{topic, 0}}, true);
  f.run_for(20ms);
  gate.cancel();
  BOOST_TEST_REQUIRE(f.run_until([&] { return !f.port->unassigned.empty(); }));
  BOOST_TEST(f.port->commits.size() == before, "nothing committed for a lost partition");
  f.stop();
}

BOOST_AUTO_TEST_SUITE_END()
