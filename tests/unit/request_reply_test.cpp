// Request-reply (request_reply.hpp) without a broker: requests and replies go through a recording
// producer's store; the test carries each one to the consumer it is for (a handler driver), as
// the broker would.
#include <txova/kafka/request_reply.hpp>
#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/testing/handler_driver.hpp>
#include <txova/kafka/testing/recording_producer.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace txova::kafka;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

const std::string requests_topic = "quotes.requests";
const std::string replies_topic = "quotes.replies";

envelope quote_request(int n) {
  return make_envelope("quote.requested", "1.0", "{\"n\":" + std::to_string(n) + "}", event_context{.source = "app"});
}

struct network {
  asio::io_context ioc;
  testing::recording_producer net{ioc.get_executor()};  // the "broker": every topic's log
  testing::handler_driver reply_reader{ioc.get_executor()};
  testing::handler_driver server{ioc.get_executor()};
  requester req{ioc.get_executor(), net.producer(), reply_reader.consumer(),
                requester_config{.reply_topic = replies_topic, .reply_partition = 2, .request_topic = requests_topic}};
  std::size_t requests_carried = 0, replies_carried = 0;
  bool serving = true;  // false: requests wait in the store, unanswered

  // Hands every request not yet carried to the server, and every reply to the reply reader.
  void carry() {
    for (;;) {
      const auto reqs = net.store().in_topic(requests_topic);
      const auto reps = net.store().in_topic(replies_topic);
      if ((!serving || requests_carried == reqs.size()) && replies_carried == reps.size()) return;
      for (; serving && requests_carried < reqs.size(); ++requests_carried)
        server.async_drive(consumed_record(reqs[requests_carried].record), [](testing::handler_outcome) {});
      for (; replies_carried < reps.size(); ++replies_carried)
        reply_reader.async_drive(consumed_record(reps[replies_carried].record), [](testing::handler_outcome) {});
      test::run_until(ioc, [] { return false; }, 20ms);
    }
  }
  template <class Cond>
  bool run_until(Cond done, std::chrono::milliseconds limit = 10s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      test::run_until(ioc, [] { return false; }, 5ms);
      carry();
    }
    return done();
  }
};

reply_function echo = [](const envelope& req, message_context&) -> asio::awaitable<envelope> {
  co_return make_envelope("quote.provided", "1.0", req.payload, event_context{.source = "quotes"});
};

}  // namespace

BOOST_AUTO_TEST_SUITE(request_reply)

BOOST_AUTO_TEST_CASE(a_reply_comes_back_to_its_caller_with_the_chain) {
  network n;
  respond(n.server.routes(), "quote.requested", n.net.producer(), echo);
  const envelope req = quote_request(7);
  std::optional<std::pair<error_code, envelope>> got;
  n.req.async_request(req, 5s, [&](error_code ec, envelope e) { got.emplace(ec, std::move(e)); });
  BOOST_TEST_REQUIRE(n.run_until([&] { return got.has_value(); }));
  BOOST_TEST(!got->first, got->first.message());
  BOOST_TEST(got->second.type == "quote.provided");
  BOOST_TEST(got->second.payload == "{\"n\":7}");
  BOOST_TEST(got->second.correlation_id == req.correlation_id);
  BOOST_TEST(got->second.causation_id.value_or("") == req.id);
  const auto sent = n.net.store().in_topic(requests_topic);
  BOOST_TEST_REQUIRE(sent.size() == 1u);
  const consumed_record sent_record(sent[0].record);
  BOOST_TEST(sent_record.header("reply-to-topic").value_or("") == replies_topic);
  BOOST_TEST(sent_record.header("reply-to-partition").value_or("") == "2");
  const auto replies = n.net.store().in_topic(replies_topic);
  BOOST_TEST_REQUIRE(replies.size() == 1u);
  BOOST_TEST(replies[0].record.partition == 2, "the reply went to the requester's partition");
  const auto s = n.req.stats();
  BOOST_TEST(s.sent == 1u);
  BOOST_TEST(s.answered == 1u);
  BOOST_TEST(s.pending == 0u);
}

BOOST_AUTO_TEST_CASE(a_thousand_requests_in_flight_each_get_their_own_reply) {
  network n;
  respond(n.server.routes(), "quote.requested", n.net.producer(), echo);
  constexpr int count = 1000;
  std::vector<std::optional<std::string>> got(count);
  for (int i = 0; i < count; ++i)
    n.req.async_request(quote_request(i), 30s, [&, i](error_code ec, envelope e) { got[i] = ec ? ec.message() : e.payload; });
  BOOST_TEST_REQUIRE(n.run_until([&] { return std::all_of(got.begin(), got.end(), [](auto& g) { return g.has_value(); }); }, 60s));
  for (int i = 0; i < count; ++i) BOOST_TEST(*got[i] == "{\"n\":" + std::to_string(i) + "}", "request " << i);
  BOOST_TEST(n.req.stats().answered == static_cast<std::uint64_t>(count));
}

BOOST_AUTO_TEST_CASE(a_timeout_or_a_cancellation_removes_the_request_and_late_replies_are_dropped) {
  network n;
  respond(n.server.routes(), "quote.requested", n.net.producer(), echo);
  n.serving = false;  // nothing answers yet
  std::optional<error_code> timed, cancelled;
  const envelope slow = quote_request(1), dropped = quote_request(2);
  n.req.async_request(slow, 30ms, [&](error_code ec, envelope) { timed = ec; });
  asio::cancellation_signal signal;
  n.req.async_request(dropped, 30s, asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, envelope) { cancelled = ec; }));
  BOOST_TEST_REQUIRE(n.run_until([&] { return timed.has_value() && n.req.stats().sent == 2u; }));
  BOOST_TEST((*timed == error::timed_out), timed->message());
  signal.emit(asio::cancellation_type::terminal);
  BOOST_TEST_REQUIRE(n.run_until([&] { return cancelled.has_value(); }));
  BOOST_TEST((*cancelled == asio::error::operation_aborted), cancelled->message());
  BOOST_TEST(n.req.stats().pending == 0u);

  // Now the responder answers both, late: neither reply reaches anyone.
  n.serving = true;
  BOOST_TEST_REQUIRE(n.run_until([&] { return n.req.stats().late == 2u; }));
  BOOST_TEST(n.req.stats().answered == 0u);
  BOOST_TEST(n.req.stats().timed_out == 1u);
  BOOST_TEST(n.req.stats().cancelled == 1u);
}

BOOST_AUTO_TEST_CASE(a_reply_for_another_chain_or_no_request_is_never_delivered) {
  network n;
  const envelope req = quote_request(3);
  std::optional<error_code> done;
  n.req.async_request(req, 200ms, [&](error_code ec, envelope) { done = ec; });
  BOOST_TEST_REQUIRE(n.run_until([&] { return n.req.stats().sent == 1u; }));
  envelope forged = make_envelope("quote.provided", "1.0", "{}", event_context{.source = "x", .correlation_id = "someone-else"});
  forged.causation_id = req.id;  // names the request, but not its chain
  envelope stray = make_envelope("quote.provided", "1.0", "{}", event_context{.source = "x"});
  stray.causation_id = "no-such-request";
  publish_options to_replies{.topic = replies_topic, .key = "k"};
  n.net.producer().async_publish(forged, to_replies, [](error_code, delivery) {});
  n.net.producer().async_publish(stray, to_replies, [](error_code, delivery) {});
  BOOST_TEST_REQUIRE(n.run_until([&] { return done.has_value(); }));
  BOOST_TEST((*done == error::timed_out), "the forged reply did not complete it");
  BOOST_TEST(n.req.stats().unmatched == 2u);
}

BOOST_AUTO_TEST_CASE(a_responder_that_fails_for_good_sends_a_failure_reply_after_its_retries) {
  network n;
  int calls = 0;
  respond(n.server.routes(), "quote.requested", n.net.producer(),
          [&](const envelope& req, message_context&) -> asio::awaitable<envelope> {
            ++calls;
            if (req.payload == "{\"n\":1}") throw permanent_error("no tariff for zone 9");
            throw std::runtime_error("pricing service down");
            co_return envelope{};
          });
  std::optional<envelope> permanent, transient;
  n.req.async_request(quote_request(1), 10s, [&](error_code, envelope e) { permanent = std::move(e); });
  BOOST_TEST_REQUIRE(n.run_until([&] { return permanent.has_value(); }));
  BOOST_TEST(is_failure_reply(*permanent));
  BOOST_TEST(permanent->type == "quote.requested_failed");
  BOOST_TEST(failure_reason(*permanent) == "no tariff for zone 9");
  BOOST_TEST(calls == 1);

  n.req.async_request(quote_request(2), 10s, [&](error_code, envelope e) { transient = std::move(e); });
  BOOST_TEST_REQUIRE(n.run_until([&] { return transient.has_value(); }));
  BOOST_TEST(failure_reason(*transient) == "pricing service down");
  BOOST_TEST(calls == 1 + 4, "the reply came after the first attempt and max_retries = 3 more");
  BOOST_TEST(n.net.store().in_topic(replies_topic).size() == 2u, "one failure reply per request");
  BOOST_TEST(n.server.dead_letters().size() == 2u, "and both requests were dead-lettered as usual");
}

BOOST_AUTO_TEST_SUITE_END()
