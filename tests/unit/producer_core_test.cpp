// The producer's core over a fake port: room waits, backoff, cancellation, close, fatal errors,
// detached publishes and the health probe, without a broker.
#include <txova/kafka/producer.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>
#include <librdkafka/rdkafka.h>

#include "fake_ports.hpp"
#include "test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;

namespace {

struct fixture {
  asio::io_context ioc;
  std::shared_ptr<test::fake_producer_state> port = std::make_shared<test::fake_producer_state>();
  std::optional<producer> p;

  explicit fixture(producer_config cfg = config()) {
    port->ex = ioc.get_executor();
    p.emplace(ioc.get_executor(), std::move(cfg), std::make_unique<test::fake_producer_port>(port));
  }
  static producer_config config() {
    producer_config c;
    c.brokers = "fake:9092";
    c.retry_backoff = 20ms;
    c.retry_backoff_max = 20ms;
    return c;
  }
  // Runs the io_context until `done` or 5 s.
  template <class Cond>
  void run_until(Cond done) {
    test::run_until(ioc, done);
  }
  void run_for(std::chrono::milliseconds d) {
    ioc.run_for(d);
    ioc.restart();
  }
};

envelope some_event() {
  event_context ctx{.source = "ride-service"};
  return make_envelope(events::ride_started{ids::ride_id("ride-1"), now_utc(), location{-25.96, 32.58}}, ctx);
}

struct outcome {
  std::optional<error_code> ec;
  delivery d;
  auto handler() {
    return [this](error_code e, delivery del) {
      ec = e;
      d = std::move(del);
    };
  }
};

const error_code timed_out = make_rdkafka_error(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
const error_code invalid_record = make_rdkafka_error(RD_KAFKA_RESP_ERR_INVALID_RECORD);

}  // namespace

BOOST_AUTO_TEST_SUITE(producer_core_faults)

BOOST_AUTO_TEST_CASE(a_cancel_during_the_backoff_stops_the_retry) {
  auto cfg = fixture::config();
  cfg.retries = 1;
  fixture f(cfg);
  outcome o;
  asio::cancellation_signal cancel;
  f.p->async_publish(some_event(), asio::bind_cancellation_slot(cancel.slot(), o.handler()));
  f.run_until([&] { return f.port->sent.size() == 1; });
  f.port->report(0, timed_out, detail::persistence::not_persisted);
  f.run_until([&] { return f.p->stats().retried == 1; });
  cancel.emit(asio::cancellation_type::terminal);
  f.run_until([&] { return o.ec.has_value(); });
  BOOST_TEST((*o.ec == asio::error::operation_aborted));
  BOOST_TEST(o.d.error_message.find("Message timed out") != std::string::npos, o.d.error_message);
  f.run_for(60ms);  // past the backoff
  BOOST_TEST(f.port->sent.size() == 1u, "not sent again");
  BOOST_TEST(f.p->stats().cancelled == 1u);
  BOOST_TEST(f.p->stats().in_flight == 0u);
}

BOOST_AUTO_TEST_CASE(a_retry_after_the_backoff_sends_again) {
  auto cfg = fixture::config();
  cfg.retries = 1;
  fixture f(cfg);
  outcome o;
  f.p->async_publish(some_event(), o.handler());
  f.run_until([&] { return f.port->sent.size() == 1; });
  f.port->report(0, timed_out, detail::persistence::not_persisted);
  f.run_until([&] { return f.port->sent.size() == 2; });
  BOOST_TEST_REQUIRE(f.port->sent.size() == 2u);
  BOOST_TEST(f.port->sent[1].topic == "txova.rides.v1");
  f.port->report(1);
  f.run_until([&] { return o.ec.has_value(); });
  BOOST_TEST(!*o.ec);
  BOOST_TEST(o.d.attempts == 2);
}

BOOST_AUTO_TEST_CASE(a_publish_sends_the_callers_headers_once_after_the_envelopes_own) {
  auto cfg = fixture::config();
  cfg.retries = 0;
  fixture f(cfg);
  outcome a;
  const envelope e = some_event();
  publish_options o;
  o.headers = {{"traceparent", "00-aa-01"}, {"tenant", "mz"}, {"traceparent", "00-bb-01"}};
  f.p->async_publish(e, o, a.handler());
  f.run_until([&] { return f.port->sent.size() == 1; });
  BOOST_TEST_REQUIRE(f.port->sent.size() == 1u);
  const auto& h = f.port->sent[0].headers;
  BOOST_TEST_REQUIRE(h.size() == 8u);
  BOOST_TEST(h[0].first == "event-id");
  BOOST_TEST(h[6].first == "traceparent");
  BOOST_TEST(h[6].second == "00-bb-01", "a name given twice is sent once, the last value");
  BOOST_TEST(h[7].first == "tenant");
  f.port->report(0, timed_out, detail::persistence::not_persisted);  // and on to its DLQ, with them
  f.run_until([&] { return f.port->sent.size() == 2; });
  BOOST_TEST_REQUIRE(f.port->sent.size() == 2u);
  std::size_t trace = 0;
  for (const auto& [k, v] : f.port->sent[1].headers) trace += k == "traceparent";
  BOOST_TEST(trace == 1u);
  f.port->report(1);
  f.run_until([&] { return a.ec.has_value(); });

  outcome b;
  publish_options bad;
  bad.headers = {{"event-id", "forged"}};
  f.p->async_publish(e, bad, b.handler());
  f.run_until([&] { return b.ec.has_value(); });
  BOOST_TEST((*b.ec == error::invalid_field));
  BOOST_TEST(b.d.error_message.find("\"event-id\"") != std::string::npos, b.d.error_message);
}

BOOST_AUTO_TEST_CASE(dead_letters_go_to_the_configured_destination) {
  auto cfg = fixture::config();
  cfg.retries = 0;
  cfg.dead_letter_topic = dead_letter_destination::fixed("dlq-domain-services");
  fixture f(cfg);
  outcome a;
  const envelope e = some_event();
  f.p->async_publish(e, a.handler());
  f.run_until([&] { return f.port->sent.size() == 1; });
  f.port->report(0, timed_out, detail::persistence::not_persisted);
  f.run_until([&] { return f.port->sent.size() == 2; });
  BOOST_TEST_REQUIRE(f.port->sent.size() == 2u);
  BOOST_TEST(f.port->sent[1].topic == "dlq-domain-services");
  f.port->report(1);
  f.run_until([&] { return a.ec.has_value(); });
  BOOST_TEST(a.d.dead_letter_topic == "dlq-domain-services");
}

BOOST_AUTO_TEST_CASE(a_publish_that_reuses_a_finished_ones_storage_starts_clean) {
  // Finished publishes are recycled (their node and their strings' capacity): nothing of a
  // retried, dead-lettered publish may show in the next one.
  auto cfg = fixture::config();
  cfg.retries = 1;
  fixture f(cfg);
  outcome a;
  const envelope first = make_envelope(
      events::ride_started{ids::ride_id("ride-" + std::string(300, 'x')), now_utc(), location{-25.96, 32.58}},
      event_context{.source = "ride-service"});
  f.p->async_publish(first, a.handler());
  f.run_until([&] { return f.port->sent.size() == 1; });
  f.port->report(0, timed_out, detail::persistence::not_persisted);
  f.run_until([&] { return f.port->sent.size() == 2; });
  f.port->report(1, timed_out, detail::persistence::not_persisted);
  f.run_until([&] { return f.port->sent.size() == 3; });
  BOOST_TEST_REQUIRE(f.port->sent.size() == 3u);
  BOOST_TEST(f.port->sent[2].topic == "txova.rides.v1.dlq");
  f.port->report(2);
  f.run_until([&] { return a.ec.has_value(); });
  BOOST_TEST(a.d.dead_letter_topic == "txova.rides.v1.dlq");

  for (int i = 0; i < 2; ++i) {
    outcome b;
    const envelope next = some_event();  // a shorter value than the first
    f.p->async_publish(next, b.handler());
    const std::size_t at = f.port->sent.size();
    f.run_until([&] { return f.port->sent.size() == at + 1; });
    BOOST_TEST_REQUIRE(f.port->sent.size() == at + 1);
    BOOST_TEST(f.port->sent[at].topic == "txova.rides.v1");
    BOOST_TEST((f.port->sent[at].value == std::optional<std::string>(to_json(next))), "exactly its own bytes");
    f.port->report(at);
    f.run_until([&] { return b.ec.has_value(); });
    BOOST_TEST(!*b.ec);
    BOOST_TEST(b.d.attempts == 1);
    BOOST_TEST(b.d.dead_letter_topic.empty());
    BOOST_TEST(b.d.error_message.empty());
    BOOST_TEST(b.d.event_id == next.id);
    BOOST_TEST(b.d.offset == static_cast<std::int64_t>(at));
  }
}

BOOST_AUTO_TEST_CASE(a_topic_name_kafka_cannot_have_gets_no_dead_letter_attempt) {
  // librdkafka may report such a topic as merely unknown before the broker calls it invalid;
  // either way "<name>.dlq" is just as invalid, so the caller gets the first error, not a
  // second one about the DLQ.
  fixture f;
  outcome o;
  f.p->async_publish(some_event(), publish_options{.topic = "no spaces allowed!"}, o.handler());
  f.run_until([&] { return f.port->sent.size() == 1; });
  const error_code unknown = make_rdkafka_error(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC);
  f.port->report(0, unknown, detail::persistence::not_persisted);
  f.run_until([&] { return o.ec.has_value(); });
  BOOST_TEST((*o.ec == unknown), o.ec->message());
  BOOST_TEST(f.port->sent.size() == 1u, "no DLQ write was attempted");
  BOOST_TEST(o.d.dead_letter_topic.empty());
  BOOST_TEST(o.d.error_message.find("no spaces allowed!") != std::string::npos, o.d.error_message);
  BOOST_TEST(f.p->stats().failed == 1u);
}

BOOST_AUTO_TEST_CASE(a_possibly_stored_message_is_not_sent_again) {
  auto cfg = fixture::config();
  cfg.retries = 3;
  fixture f(cfg);
  outcome o;
  f.p->async_publish(some_event(), o.handler());
  f.run_until([&] { return f.port->sent.size() == 1; });
  f.port->report(0, timed_out, detail::persistence::possibly_persisted);
  f.run_until([&] { return f.port->sent.size() == 2; });
  BOOST_TEST_REQUIRE(f.port->sent.size() == 2u);
  BOOST_TEST(f.port->sent[1].topic == "txova.rides.v1.dlq", "to the DLQ, not a second copy");
  f.port->report(1);
  f.run_until([&] { return o.ec.has_value(); });
  BOOST_TEST((*o.ec == timed_out));
  BOOST_TEST(o.d.dead_letter_topic == "txova.rides.v1.dlq");
  BOOST_TEST(o.d.error_message.find("may have stored it") != std::string::npos, o.d.error_message);
  BOOST_TEST(f.p->stats().retried == 0u);
}

BOOST_AUTO_TEST_CASE(waiting_publishes_go_in_order_as_room_frees) {
  fixture f;
  f.port->room = 1;
  std::vector<outcome> o(3);
  std::vector<envelope> es;
  for (int i = 0; i < 3; ++i) es.push_back(some_event());
  for (int i = 0; i < 3; ++i) f.p->async_publish(es[i], o[i].handler());
  f.run_for(10ms);
  BOOST_TEST(f.port->sent.size() == 1u);
  BOOST_TEST(f.p->stats().waiting_for_room == 2u);
  for (std::size_t i = 0; i < 3; ++i) {
    f.run_until([&] { return f.port->sent.size() == i + 1; });
    f.port->report(i);
  }
  f.run_until([&] { return o[2].ec.has_value(); });
  BOOST_TEST_REQUIRE(f.port->sent.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    std::string id;
    for (const auto& [k, v] : f.port->sent[i].headers)
      if (k == "event-id") id = v;
    BOOST_TEST(id == es[i].id, "sent in the order published");
    BOOST_TEST(!*o[i].ec);
  }
}

BOOST_AUTO_TEST_CASE(close_while_waiting_for_room_fails_the_wait_and_reports_it) {
  fixture f;
  f.port->room = 1;  // taken by the first publish, which stays in flight
  outcome first, o;
  const envelope e = some_event();
  f.p->async_publish(some_event(), first.handler());
  f.p->async_publish(e, o.handler());
  f.run_for(10ms);
  BOOST_TEST(f.p->stats().waiting_for_room == 1u);
  std::optional<error_code> closed;
  close_report report;
  f.p->async_close(100ms, [&](error_code ec, close_report r) {
    closed = ec;
    report = std::move(r);
  });
  f.run_until([&] { return closed.has_value(); });
  BOOST_TEST((*o.ec == error::closed));
  BOOST_TEST(f.port->sent.size() == 1u, "the waiting one was never sent");
  BOOST_TEST(f.port->purges == 1u, "what librdkafka still held at the deadline is purged");
  BOOST_TEST_REQUIRE(report.undelivered.size() >= 1u);
  BOOST_TEST(report.undelivered[0].event_id == e.id);
  outcome late;
  f.p->async_publish(some_event(), late.handler());
  f.run_until([&] { return late.ec.has_value(); });
  BOOST_TEST((*late.ec == error::closed));
}

BOOST_AUTO_TEST_CASE(a_publish_cancelled_in_flight_that_then_fails_is_dead_lettered_and_counted) {
  fixture f;
  outcome o;
  asio::cancellation_signal cancel;
  const envelope e = some_event();
  f.p->async_publish(e, asio::bind_cancellation_slot(cancel.slot(), o.handler()));
  f.run_until([&] { return f.port->sent.size() == 1; });
  cancel.emit(asio::cancellation_type::terminal);
  f.run_until([&] { return o.ec.has_value(); });
  BOOST_TEST((*o.ec == asio::error::operation_aborted));
  BOOST_TEST(o.d.error_message.find("may still be delivered") != std::string::npos);
  f.port->report(0, invalid_record, detail::persistence::not_persisted);
  f.run_until([&] { return f.port->sent.size() == 2; });
  BOOST_TEST_REQUIRE(f.port->sent.size() == 2u);
  BOOST_TEST(f.port->sent[1].topic == "txova.rides.v1.dlq");
  BOOST_TEST(f.port->sent[1].value->find(e.id) != std::string::npos);
  f.port->report(1);
  f.run_until([&] { return f.p->stats().dead_lettered == 1; });
  BOOST_TEST(f.p->stats().failed_after_cancel == 1u);
  BOOST_TEST(f.p->stats().failed == 1u);
}

BOOST_AUTO_TEST_CASE(a_fatal_error_fails_pending_and_new_publishes_at_once) {
  fixture f;
  outcome pending;
  f.p->async_publish(some_event(), pending.handler());
  f.run_until([&] { return f.port->sent.size() == 1; });
  f.port->client_error(make_rdkafka_error(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER), "sequence desynchronization", true);
  f.run_until([&] { return pending.ec.has_value(); });
  BOOST_TEST((*pending.ec == error::fatal));
  BOOST_TEST(pending.d.error_message.find("sequence desynchronization") != std::string::npos, pending.d.error_message);
  BOOST_TEST(f.p->stats().fatal);
  outcome later;
  f.p->async_publish(some_event(), later.handler());
  f.run_until([&] { return later.ec.has_value(); });
  BOOST_TEST((*later.ec == error::fatal));
  BOOST_TEST(f.port->sent.size() == 1u, "nothing more is sent");
  std::optional<health_report> h;
  f.p->async_health_check(1s, [&](error_code, health_report r) { h = std::move(r); });
  f.run_until([&] { return h.has_value(); });
  BOOST_TEST(!h->healthy);
  BOOST_TEST(h->detail.find("fatal") != std::string::npos);
  BOOST_TEST(f.port->probes.empty(), "no round trip needed to know");
}

BOOST_AUTO_TEST_CASE(detached_publishes_wait_for_room_only_so_deep) {
  auto cfg = fixture::config();
  cfg.max_detached_waiting = 2;
  fixture f(cfg);
  f.port->room = 1;
  outcome first;
  f.p->async_publish(some_event(), first.handler());  // takes the room and stays in flight
  std::vector<error_code> completed;
  std::vector<error_code> returned;
  for (int i = 0; i < 4; ++i)
    returned.push_back(f.p->publish_detached(some_event(), [&](error_code ec, const delivery&) { completed.push_back(ec); }));
  f.run_for(10ms);
  BOOST_TEST(!returned[0]);
  BOOST_TEST(!returned[1]);
  BOOST_TEST((returned[2] == error::queue_full));
  BOOST_TEST((returned[3] == error::queue_full));
  BOOST_TEST(f.p->stats().waiting_for_room == 2u);
  BOOST_TEST(f.p->stats().rejected == 2u);
  BOOST_TEST_REQUIRE(completed.size() == 2u, "the refused ones are told through their callback too");
  BOOST_TEST((completed[0] == error::queue_full));
}

BOOST_AUTO_TEST_CASE(health_keeps_one_probe_at_a_time_and_answers_each_check_with_a_fresh_one) {
  fixture f;
  std::optional<health_report> first, second;
  f.p->async_health_check(30ms, [&](error_code, health_report r) { first = std::move(r); });
  f.run_until([&] { return first.has_value(); });
  BOOST_TEST(!first->healthy);
  BOOST_TEST(first->detail.find("no answer") != std::string::npos, first->detail);
  BOOST_TEST_REQUIRE(f.port->probes.size() == 1u);
  f.p->async_health_check(5s, [&](error_code, health_report r) { second = std::move(r); });
  f.run_for(10ms);
  BOOST_TEST(f.port->probes.size() == 1u, "one probe at a time");
  f.port->answer_probe(f.port->probes[0]);
  f.run_until([&] { return f.port->probes.size() == 2; });
  BOOST_TEST(!second.has_value(), "an answer to a probe sent before the check started is not its answer");
  BOOST_TEST_REQUIRE(f.port->probes.size() == 2u);
  f.port->answer_probe(f.port->probes[1]);
  f.run_until([&] { return second.has_value(); });
  BOOST_TEST(second->healthy);
}

BOOST_AUTO_TEST_CASE(an_idle_producer_holds_no_work_and_busy_one_does) {
  fixture f;
  BOOST_TEST(!f.port->busy);
  outcome o;
  f.p->async_publish(some_event(), o.handler());
  f.run_until([&] { return f.port->sent.size() == 1; });
  BOOST_TEST(f.port->busy);
  f.port->report(0);
  f.run_until([&] { return o.ec.has_value(); });
  BOOST_TEST(!f.port->busy);
}

BOOST_AUTO_TEST_SUITE_END()
