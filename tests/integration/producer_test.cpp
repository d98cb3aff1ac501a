// The producer against the real broker (suite producer_real) and under faults injected into the
// embedded cluster (suite producer_faults).
#include "plain_client.hpp"

#include <txova/kafka/admin.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>


#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using testing::embedded_cluster;
using testing::kafka_api;
using txova::kafka::test::real_brokers;
using txova::kafka::test::unique_topic;

namespace {

struct golden {
  std::string text;
  envelope env;
};

std::vector<golden> golden_envelopes() {
  std::vector<golden> out;
  for (auto& text : test::golden_envelope_texts()) {
    auto env = parse_envelope(text);
    BOOST_TEST_REQUIRE(env.has_value());
    out.push_back({std::move(text), *env});
  }
  return out;
}

envelope some_envelope() {
  for (auto& g : golden_envelopes())
    if (g.env.type == "ride.completed") return g.env;
  BOOST_FAIL("tests/data/envelopes has no ride.completed");
  return {};
}

// A fresh envelope (new id) of a catalog type, for tests that publish many.
envelope fresh_envelope() {
  envelope e = some_envelope();
  e.id = new_uuid();
  return e;
}

void create_topic(const std::string& topic, int partitions) { test::create_topics({{topic, partitions}}); }

producer_config real_config() {
  producer_config c;
  c.brokers = real_brokers();
  return c;
}

// Routes ride.completed (what fresh_envelope() makes) to `topic`.
producer_config real_config(const std::string& topic) {
  producer_config c = real_config();
  c.routes = topic_map().route("ride.completed", topic);
  return c;
}

using test::header;

}  // namespace

BOOST_AUTO_TEST_SUITE(producer_real, *boost::unit_test::timeout(180))

BOOST_AUTO_TEST_CASE(publishes_byte_identical_envelopes_with_keys_and_headers) {
  const std::string topic = unique_topic("publish");
  create_topic(topic, 3);
  const auto events = golden_envelopes();
  std::vector<std::pair<boost::system::error_code, delivery>> results;
  asio::io_context ioc;
  producer p(ioc.get_executor(), real_config());
  const publish_options to{.topic = topic};
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    for (const auto& g : events) {
      auto [ec, d] = co_await p.async_publish(g.env, to, asio::as_tuple(asio::use_awaitable));
      results.emplace_back(ec, d);
    }
  }, asio::detached);
  ioc.run();
  BOOST_TEST_REQUIRE(results.size() == events.size());
  for (const auto& [ec, d] : results) {
    BOOST_TEST(!ec, ec.message() << ": " << d.error_message);
    BOOST_TEST(d.topic == topic);
    BOOST_TEST(d.offset >= 0);
    BOOST_TEST(d.attempts == 1);
    BOOST_TEST((d.broker_time > timestamp{}));
  }
  BOOST_TEST(p.stats().sent == events.size());
  BOOST_TEST(p.stats().in_flight == 0u);

  auto got = test::consume({{"bootstrap.servers", real_brokers()}}, topic, 3, events.size());
  BOOST_TEST_REQUIRE(got.size() == events.size());
  std::map<std::string, const test::record*> by_value;
  for (const auto& r : got) by_value[r.value] = &r;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& g = events[i];
    auto it = by_value.find(g.text);
    BOOST_TEST_REQUIRE((it != by_value.end()), "envelope " << g.env.type << " came back byte-identical");
    const test::record& r = *it->second;
    BOOST_TEST(r.key == partition_key(g.env).value());
    BOOST_TEST(r.partition == results[i].second.partition);
    BOOST_TEST(r.offset == results[i].second.offset);
    BOOST_TEST(header(r, "event-id") == g.env.id);
    BOOST_TEST(header(r, "event-type") == g.env.type);
    BOOST_TEST(header(r, "correlation-id") == g.env.correlation_id);
    BOOST_TEST(header(r, "schema-version") == g.env.version);
    BOOST_TEST(header(r, "source") == g.env.source);
    BOOST_TEST(header(r, "timestamp") == format_timestamp(g.env.time));
  }
}

BOOST_AUTO_TEST_CASE(works_with_every_completion_token) {
  const std::string topic = unique_topic("tokens");
  create_topic(topic, 1);
  asio::io_context ioc;
  producer p(ioc.get_executor(), real_config(topic));
  const publish_options to{.topic = topic};

  std::future<delivery> fut = p.async_publish(fresh_envelope(), to, asio::use_future);
  boost::system::error_code callback_ec = asio::error::would_block;
  p.async_publish(fresh_envelope(), to, [&](boost::system::error_code ec, delivery) { callback_ec = ec; });
  boost::system::error_code deferred_ec = asio::error::would_block;
  auto op = p.async_publish(fresh_envelope(), to, asio::deferred);
  std::move(op)([&](boost::system::error_code ec, delivery) { deferred_ec = ec; });
  boost::system::error_code awaited_ec = asio::error::would_block;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    try {
      delivery d = co_await p.async_publish(fresh_envelope(), to, asio::use_awaitable);
      awaited_ec = d.offset >= 0 ? boost::system::error_code{} : asio::error::fault;
    } catch (const boost::system::system_error& e) {
      awaited_ec = e.code();
    }
  }, asio::detached);
  boost::system::error_code detached_ec = asio::error::would_block;
  p.publish_detached(fresh_envelope(), [&](boost::system::error_code ec, const delivery&) { detached_ec = ec; });
  ioc.run();  // returns once nothing is pending: an idle producer keeps nothing running
  BOOST_TEST(fut.get().offset >= 0);
  BOOST_TEST(!callback_ec);
  BOOST_TEST(!deferred_ec);
  BOOST_TEST(!awaited_ec);
  BOOST_TEST(!detached_ec);
  BOOST_TEST(p.stats().sent == 5u);
}

BOOST_AUTO_TEST_CASE(completes_on_the_callers_executor) {
  const std::string topic = unique_topic("executor");
  create_topic(topic, 1);
  asio::io_context ioc;
  asio::io_context other;  // the handler's own executor
  producer p(ioc.get_executor(), real_config());
  bool ran_on_other = false;
  p.async_publish(fresh_envelope(), publish_options{.topic = topic},
                  asio::bind_executor(other, [&](boost::system::error_code, delivery) {
                    ran_on_other = other.get_executor().running_in_this_thread();
                  }));
  ioc.run();
  BOOST_TEST(!ran_on_other, "not run before `other` runs");
  other.run();
  BOOST_TEST(ran_on_other);
}

BOOST_AUTO_TEST_CASE(batch_with_an_invalid_envelope_sends_nothing_and_names_it) {
  const std::string topic = unique_topic("batch");
  create_topic(topic, 1);
  asio::io_context ioc;
  producer p(ioc.get_executor(), real_config(topic));
  std::vector<envelope> batch{fresh_envelope(), fresh_envelope(), fresh_envelope()};
  batch[1].version = "1";  // not major.minor
  auto invalid = p.async_publish_batch(batch, asio::use_future);
  ioc.run();
  ioc.restart();
  std::vector<publish_result> results;
  boost::system::error_code batch_ec;
  try {
    results = invalid.get();
  } catch (const boost::system::system_error& e) {
    batch_ec = e.code();
  }
  BOOST_TEST((batch_ec == error::invalid_field), batch_ec.message());

  // The same through a callback, to see the per-envelope results.
  p.async_publish_batch(batch, [&](boost::system::error_code ec, std::vector<publish_result> r) {
    batch_ec = ec;
    results = std::move(r);
  });
  ioc.run();
  ioc.restart();
  BOOST_TEST_REQUIRE(results.size() == 3u);
  BOOST_TEST((results[0].ec == error::not_sent));
  BOOST_TEST((results[1].ec == error::invalid_field));
  BOOST_TEST(results[1].result.error_message.find("version \"1\"") != std::string::npos, results[1].result.error_message);
  BOOST_TEST((results[2].ec == error::not_sent));

  // A valid batch: every envelope delivered, in order on the one partition.
  batch[1].version = "1.0";
  p.async_publish_batch(batch, [&](boost::system::error_code ec, std::vector<publish_result> r) {
    batch_ec = ec;
    results = std::move(r);
  });
  ioc.run();
  BOOST_TEST(!batch_ec);
  BOOST_TEST_REQUIRE(results.size() == 3u);
  for (const auto& r : results) BOOST_TEST(!r.ec);
  BOOST_TEST(results[1].result.offset == results[0].result.offset + 1);

  auto got = test::consume({{"bootstrap.servers", real_brokers()}}, topic, 1, 4, 10s);
  BOOST_TEST(got.size() == 3u, "only the valid batch reached the topic");
}

BOOST_AUTO_TEST_CASE(idempotence_is_on_with_acks_all) {
  const producer_config c = real_config();
  const auto props = c.rdkafka_properties();
  BOOST_TEST(props.at("enable.idempotence") == "true");
  BOOST_TEST(props.at("acks") == "all");
  // The broker accepts idempotent produce requests (InitProducerId, sequence numbers).
  const std::string topic = unique_topic("idempotent");
  create_topic(topic, 2);
  asio::io_context ioc;
  producer p(ioc.get_executor(), c);
  std::size_t ok = 0;
  for (int i = 0; i < 50; ++i)
    p.async_publish(fresh_envelope(), publish_options{.topic = topic}, [&](boost::system::error_code ec, delivery) { ok += !ec; });
  ioc.run();
  BOOST_TEST(ok == 50u);
}

BOOST_AUTO_TEST_CASE(a_topic_that_cannot_exist_fails_with_a_clear_error) {
  asio::io_context ioc;
  producer_config c = real_config();
  c.delivery_timeout = 10s;
  producer p(ioc.get_executor(), c);
  boost::system::error_code ec;
  delivery d;
  p.async_publish(fresh_envelope(), publish_options{.topic = "no spaces allowed!"}, [&](boost::system::error_code e, delivery r) {
    ec = e;
    d = std::move(r);
  });
  ioc.run();
  // The broker calls the name invalid, unless librdkafka first finds the topic unknown (it
  // depends on which metadata answer comes first); never a failed DLQ write on top.
  BOOST_TEST((ec == make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION) ||
              ec == make_rdkafka_error(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)), ec.message());
  BOOST_TEST(d.error_message.find("no spaces allowed!") != std::string::npos, d.error_message);
  BOOST_TEST(d.dead_letter_topic.empty(), "its DLQ name would be just as invalid");
  BOOST_TEST(d.offset == -1);
  BOOST_TEST(p.stats().failed == 1u);
}

BOOST_AUTO_TEST_CASE(invalid_and_oversized_envelopes_fail_at_once_and_are_never_sent) {
  asio::io_context ioc;
  producer_config c = real_config();
  producer p(ioc.get_executor(), c);
  envelope bad = fresh_envelope();
  bad.id = "not-a-uuid";
  envelope big = fresh_envelope();
  big.payload = "{\"ride_id\":\"r1\",\"blob\":\"" + std::string(2 * 1024 * 1024, 'x') + "\"}";
  envelope unknown = fresh_envelope();
  unknown.type = "nobody.knows";
  std::vector<std::pair<boost::system::error_code, std::string>> out;
  for (auto* e : {&bad, &big, &unknown})
    p.async_publish(*e, [&](boost::system::error_code ec, delivery d) { out.emplace_back(ec, d.error_message); });
  ioc.run();
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST((out[0].first == error::invalid_field), out[0].second);
  BOOST_TEST(out[0].second.find("not-a-uuid") != std::string::npos, out[0].second);
  BOOST_TEST((out[1].first == error::too_large), out[1].second);
  BOOST_TEST(out[1].second.find("2097178 bytes") != std::string::npos, out[1].second);
  BOOST_TEST((out[2].first == error::unknown_event_type), out[2].second);
  BOOST_TEST(out[2].second.find("nobody.knows") != std::string::npos, out[2].second);
  BOOST_TEST(p.stats().sent == 0u);
  BOOST_TEST(p.stats().failed == 3u);
}

BOOST_AUTO_TEST_CASE(waits_for_queue_room_and_the_wait_is_cancellable) {
  const std::string topic = unique_topic("room");
  create_topic(topic, 1);
  asio::io_context ioc;
  producer_config c = real_config();
  c.max_queued_messages = 1;  // one message fills librdkafka's queue
  c.linger = 200ms;           // and stays there a while
  producer p(ioc.get_executor(), c);
  std::vector<std::string> order;
  boost::system::error_code first_ec = asio::error::would_block, second_ec = asio::error::would_block,
                            third_ec = asio::error::would_block;
  asio::cancellation_signal cancel_second;
  envelope first = fresh_envelope(), second = fresh_envelope(), third = fresh_envelope();
  // The producer's strand takes the publishes when the io_context runs; 50 ms later, with the
  // first still lingering in librdkafka's queue, the other two wait for room.
  std::size_t waiting = 0;
  asio::steady_timer later(ioc, 50ms);
  p.async_publish(first, publish_options{.topic = topic}, [&](boost::system::error_code ec, delivery) {
    first_ec = ec;
    order.push_back("first");
  });
  p.async_publish(second, publish_options{.topic = topic},
                  asio::bind_cancellation_slot(cancel_second.slot(), [&](boost::system::error_code ec, delivery) {
                    second_ec = ec;
                    order.push_back("second");
                  }));
  p.async_publish(third, publish_options{.topic = topic}, [&](boost::system::error_code ec, delivery) {
    third_ec = ec;
    order.push_back("third");
  });
  later.async_wait([&](boost::system::error_code) {
    waiting = p.stats().waiting_for_room;
    cancel_second.emit(asio::cancellation_type::terminal);
  });
  ioc.run();
  BOOST_TEST(waiting == 2u, "the second and third publish wait for room instead of failing");
  BOOST_TEST((second_ec == asio::error::operation_aborted), second_ec.message());
  BOOST_TEST(!first_ec);
  BOOST_TEST(!third_ec);
  BOOST_TEST_REQUIRE(order.size() == 3u);
  BOOST_TEST(order[0] == "second", "the cancelled wait ends at once");

  auto got = test::consume({{"bootstrap.servers", real_brokers()}}, topic, 1, 3, 10s);
  BOOST_TEST_REQUIRE(got.size() == 2u, "the cancelled event was never sent");
  BOOST_TEST(header(got[0], "event-id") == first.id);
  BOOST_TEST(header(got[1], "event-id") == third.id, "order kept behind the wait");
}

BOOST_AUTO_TEST_CASE(health_check_reaches_the_cluster) {
  asio::io_context ioc;
  producer p(ioc.get_executor(), real_config());
  auto fut = p.async_health_check(5s, asio::use_future);
  ioc.run();
  health_report r = fut.get();
  BOOST_TEST(r.healthy, r.detail);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- faults on the embedded cluster ----------------------------------------------------------

namespace {
producer_config embedded_config(const embedded_cluster& c) {
  producer_config cfg;
  cfg.brokers = c.bootstrap_servers();
  cfg.retry_backoff = 20ms;
  cfg.linger = 0ms;
  return cfg;
}

std::pair<boost::system::error_code, delivery> publish_one(producer& p, asio::io_context& ioc, envelope e,
                                                           publish_options opt = {}) {
  std::pair<boost::system::error_code, delivery> out{asio::error::would_block, {}};
  p.async_publish(std::move(e), std::move(opt), [&](boost::system::error_code ec, delivery d) { out = {ec, std::move(d)}; });
  ioc.run();
  ioc.restart();
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(producer_faults, *boost::unit_test::timeout(180))

BOOST_AUTO_TEST_CASE(injected_retriable_errors_are_retried_and_succeed) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  producer_config cfg = embedded_config(cluster);
  cfg.properties["retries"] = "1";  // librdkafka gives up after one retry of its own...
  cfg.retries = 1;                  // (ours are off by default: they can reorder a key's events)
  producer p(ioc.get_executor(), cfg);
  BOOST_TEST_REQUIRE(!publish_one(p, ioc, fresh_envelope()).first);  // connected, producer id acquired

  // ...so three failures make librdkafka report an error once, then ours retries and succeeds.
  const std::array<int, 3> errors{RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                  RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS};
  cluster.push_request_errors(kafka_api::produce, errors);
  envelope e = fresh_envelope();
  auto [ec, d] = publish_one(p, ioc, e);
  BOOST_TEST(!ec, ec.message() << ": " << d.error_message);
  BOOST_TEST(d.attempts == 2);
  BOOST_TEST(p.stats().retried == 1u);
  BOOST_TEST(p.stats().sent == 2u);
  BOOST_TEST(p.stats().failed == 0u);

  auto got = test::consume({{"bootstrap.servers", cluster.bootstrap_servers()}}, "txova.rides.v1", 1, 2, 10s);
  BOOST_TEST_REQUIRE(got.size() == 2u);
  BOOST_TEST(header(got[1], "event-id") == e.id);
}

BOOST_AUTO_TEST_CASE(permanent_errors_go_to_the_dlq_and_the_caller_gets_the_original_error) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1.dlq", 1));
  asio::io_context ioc;
  producer_config cfg = embedded_config(cluster);
  cfg.idempotence = false;  // an idempotent producer treats a rejected batch as fatal
  producer p(ioc.get_executor(), cfg);
  const std::array<int, 1> errors{RD_KAFKA_RESP_ERR_INVALID_RECORD};
  cluster.push_request_errors(kafka_api::produce, errors);
  envelope e = fresh_envelope();
  auto [ec, d] = publish_one(p, ioc, e);
  BOOST_TEST((ec == make_rdkafka_error(RD_KAFKA_RESP_ERR_INVALID_RECORD)), ec.message() << ": " << d.error_message);
  BOOST_TEST(d.dead_letter_topic == "txova.rides.v1.dlq");
  BOOST_TEST(d.attempts == 1, "a permanent error is not retried");
  BOOST_TEST(p.stats().dead_lettered == 1u);
  BOOST_TEST(p.stats().failed == 1u);

  auto got = test::consume({{"bootstrap.servers", cluster.bootstrap_servers()}}, "txova.rides.v1.dlq", 1, 1, 10s);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].key == partition_key(e).value());
  BOOST_TEST(header(got[0], std::string(dlt_headers::original_topic)) == "txova.rides.v1");
  BOOST_TEST(header(got[0], std::string(dlt_headers::attempt_count)) == "1");
  BOOST_TEST(header(got[0], "event-id") == e.id);
  const auto body = boost::json::parse(got[0].value).as_object();
  BOOST_TEST(body.at("original_topic").as_string() == "txova.rides.v1");
  BOOST_TEST(body.at("envelope").as_object().at("id").as_string() == e.id);
  BOOST_TEST(std::string(body.at("error_message").as_string()).find("txova.rides.v1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(all_brokers_down_past_the_delivery_timeout_fails_and_is_counted) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  producer_config cfg = embedded_config(cluster);
  cfg.delivery_timeout = 1500ms;
  cfg.retries = 1;
  producer p(ioc.get_executor(), cfg);
  BOOST_TEST_REQUIRE(!publish_one(p, ioc, fresh_envelope()).first);
  BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));
  auto [ec, d] = publish_one(p, ioc, fresh_envelope());  // returns: nothing hangs
  BOOST_TEST((ec == error::dead_letter_failed), ec.message());
  BOOST_TEST(d.error_message.find("Local: Message timed out") != std::string::npos, d.error_message);
  BOOST_TEST(d.error_message.find("txova.rides.v1.dlq") != std::string::npos, d.error_message);
  BOOST_TEST(d.attempts == 2);
  BOOST_TEST(p.stats().failed == 1u);
  BOOST_TEST(p.stats().retried == 1u);
  BOOST_TEST(p.stats().in_flight == 0u);
}

BOOST_AUTO_TEST_CASE(close_reports_what_it_could_not_deliver) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  producer p(ioc.get_executor(), embedded_config(cluster));
  BOOST_TEST_REQUIRE(!publish_one(p, ioc, fresh_envelope()).first);
  BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));
  std::vector<std::string> ids;
  std::vector<boost::system::error_code> outcomes;
  for (int i = 0; i < 3; ++i) {
    envelope e = fresh_envelope();
    ids.push_back(e.id);
    p.publish_detached(e, [&](boost::system::error_code ec, const delivery&) { outcomes.push_back(ec); });
  }
  boost::system::error_code close_ec;
  close_report report;
  p.async_close(500ms, [&](boost::system::error_code ec, close_report r) {
    close_ec = ec;
    report = std::move(r);
  });
  ioc.run();
  BOOST_TEST((close_ec == error::timed_out), close_ec.message());
  BOOST_TEST_REQUIRE(report.undelivered.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(report.undelivered[i].event_id == ids[i]);
    BOOST_TEST(report.undelivered[i].reason.find("Purged") != std::string::npos, report.undelivered[i].reason);
  }
  BOOST_TEST(outcomes.size() == 3u, "every caller heard back");
  for (const auto& ec : outcomes) BOOST_TEST(ec.failed());

  ioc.restart();
  auto after = publish_one(p, ioc, fresh_envelope());
  BOOST_TEST((after.first == error::closed));
}

BOOST_AUTO_TEST_CASE(an_empty_correlation_id_starts_a_chain_with_the_events_id) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  producer p(ioc.get_executor(), embedded_config(cluster));
  envelope e = fresh_envelope();
  e.correlation_id.clear();
  auto [ec, d] = publish_one(p, ioc, e);
  BOOST_TEST_REQUIRE(!ec, d.error_message);
  auto got = test::consume({{"bootstrap.servers", cluster.bootstrap_servers()}}, "txova.rides.v1", 1, 1, 10s);
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(header(got[0], "correlation-id") == e.id);
  BOOST_TEST(parse_envelope(got[0].value).value().correlation_id == e.id);
}

BOOST_AUTO_TEST_CASE(a_coroutine_may_destroy_its_producer_right_after_a_publish) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  asio::io_context ioc;
  int delivered = 0;
  const producer_config cfg = embedded_config(cluster);
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
      producer p(co_await asio::this_coro::executor, cfg);
      auto d = co_await p.async_publish(fresh_envelope(), asio::use_awaitable);
      delivered += d.offset >= 0;
    }, asio::detached);  // the producer dies as the coroutine ends, right after its ack
  }
  ioc.run();
  BOOST_TEST(delivered == 3);
}

BOOST_AUTO_TEST_CASE(destroying_a_producer_aborts_pending_batches_and_publishes) {
  embedded_cluster cluster(1);
  BOOST_TEST_REQUIRE(!cluster.create_topic("txova.rides.v1", 1));
  BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));  // nothing can complete before the destruction
  asio::io_context ioc;
  boost::system::error_code batch_ec, single_ec;
  std::vector<publish_result> results;
  {
    producer p(ioc.get_executor(), embedded_config(cluster));
    std::vector<envelope> batch{fresh_envelope(), fresh_envelope()};
    p.async_publish_batch(batch, [&](boost::system::error_code ec, std::vector<publish_result> r) {
      batch_ec = ec;
      results = std::move(r);
    });
    p.async_publish(fresh_envelope(), [&](boost::system::error_code ec, delivery) { single_ec = ec; });
  }
  ioc.run();
  BOOST_TEST((batch_ec == error::batch_incomplete), batch_ec.message());
  BOOST_TEST_REQUIRE(results.size() == 2u);
  for (const auto& r : results) BOOST_TEST((r.ec == asio::error::operation_aborted), r.ec.message());
  BOOST_TEST((single_ec == asio::error::operation_aborted), single_ec.message());
}

BOOST_AUTO_TEST_CASE(both_wakeup_modes_deliver) {
  embedded_cluster cluster(1);
  for (wakeup_mode mode : {wakeup_mode::fd, wakeup_mode::callback}) {
    asio::io_context ioc;
    producer_config cfg = embedded_config(cluster);
    cfg.wakeup = mode;
    producer p(ioc.get_executor(), cfg);
    std::size_t ok = 0;
    for (int i = 0; i < 200; ++i)
      p.async_publish(fresh_envelope(), [&](boost::system::error_code ec, delivery) { ok += !ec; });
    ioc.run();
    BOOST_TEST(ok == 200u);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Its own suite: librdkafka 2.0.2 leaks a few bytes when a client is destroyed after this
// timed-out request, so CTest runs it with a LeakSanitizer suppression (tests/lsan.supp).
BOOST_AUTO_TEST_SUITE(producer_health_faults, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(health_check_fails_within_its_timeout_when_brokers_are_down) {
  embedded_cluster cluster(1);
  asio::io_context ioc;
  producer p(ioc.get_executor(), embedded_config(cluster));
  auto up = p.async_health_check(5s, asio::use_future);
  ioc.run();
  ioc.restart();
  BOOST_TEST(up.get().healthy);
  BOOST_TEST_REQUIRE(!cluster.set_broker_down(1));
  // The embedded cluster's brokers do not support ListGroups, so librdkafka answers the probe
  // itself (unsupported feature: "a broker answered") until it has noticed the connection close;
  // a real broker gets the request. Let it notice first (seen failing ~1 run in 12 under load).
  asio::steady_timer settle(ioc, 500ms);
  settle.async_wait([](boost::system::error_code) {});
  ioc.run();
  ioc.restart();
  boost::system::error_code ec;
  health_report r;
  p.async_health_check(1s, [&](boost::system::error_code e, health_report h) {
    ec = e;
    r = std::move(h);
  });
  ioc.run();
  BOOST_TEST(ec.failed());
  BOOST_TEST(!r.healthy);
  BOOST_TEST(!r.detail.empty());
}

BOOST_AUTO_TEST_SUITE_END()
