// Request-reply against the real broker (suite request_reply_real): a responder in a consumer
// group, requesters reading their own reply partition. 1 000 concurrent requests, a timeout, a
// responder failure, and a requester that restarts while its requests are pending.
#include "plain_client.hpp"

#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/request_reply.hpp>
#include <txova/kafka/testing/scratch_topic.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using test::real_brokers;

namespace {

envelope quote_request(int n) {
  return make_envelope("quote.requested", "1.0", "{\"n\":" + std::to_string(n) + "}", event_context{.source = "app"});
}

producer_config fast_producer() {
  producer_config p;
  p.brokers = real_brokers();
  p.linger = 1ms;
  return p;
}

// A requester (its reply consumer on partition `partition`) and a responder (a group), on one io_context.
struct quote_system {
  asio::io_context ioc;
  testing::scratch_topic requests{real_brokers(), "rr-requests", 3};
  testing::scratch_topic replies{real_brokers(), "rr-replies", 2};
  producer out{ioc.get_executor(), fast_producer()};
  std::optional<consumer> server;
  std::optional<error_code> server_ran;

  consumer_config reply_config(std::int32_t partition) const {
    consumer_config base;
    base.brokers = real_brokers();
    return reply_consumer_config(base, replies.name(), partition);
  }
  requester_config requester_for(std::int32_t partition) const {
    return requester_config{.reply_topic = replies.name(), .reply_partition = partition, .request_topic = requests.name()};
  }
  void serve(reply_function f, int max_retries = 3) {
    consumer_config c = requests.consumer();
    c.max_retries = max_retries;
    c.retry_backoff = 20ms;
    c.retry_backoff_max = 50ms;
    c.session_timeout = 6s;
    c.heartbeat_interval = 500ms;
    server.emplace(ioc.get_executor(), c);
    respond(server->routes(), "quote.requested", out, std::move(f), responder_options{.max_retries = max_retries});
    server->async_run([this](error_code ec) { server_ran = ec; });
  }
  template <class Cond>
  bool run_until(Cond done, std::chrono::milliseconds limit) { return test::run_until(ioc, done, limit); }
  void stop_server() {
    if (!server) return;
    server->stop();
    run_until([&] { return server_ran.has_value(); }, 30s);
  }
};

// Until one request comes back (the responder joined its group, the reply consumer has its
// position): requests before that could be answered before the reply consumer reads.
bool warm_up(quote_system& s, requester& req) {
  for (int i = 0; i < 60; ++i) {
    std::optional<error_code> got;
    req.async_request(quote_request(-1), 1s, [&](error_code ec, envelope) { got = ec; });
    s.run_until([&] { return got.has_value(); }, 5s);
    if (got && !*got) return true;
  }
  return false;
}

reply_function echo = [](const envelope& req, message_context&) -> asio::awaitable<envelope> {
  co_return make_envelope("quote.provided", "1.0", req.payload, event_context{.source = "quotes"});
};

}  // namespace

BOOST_AUTO_TEST_SUITE(request_reply_real, *boost::unit_test::timeout(300))

BOOST_AUTO_TEST_CASE(a_thousand_concurrent_requests_are_all_answered_to_their_callers) {
  quote_system s;
  consumer replies(s.ioc.get_executor(), s.reply_config(0));
  requester req(s.ioc.get_executor(), s.out, replies, s.requester_for(0));
  replies.async_run(asio::detached);
  s.serve(echo);
  BOOST_TEST_REQUIRE(warm_up(s, req));
  constexpr int count = 1000;
  std::vector<std::optional<std::string>> got(count);
  for (int i = 0; i < count; ++i)
    req.async_request(quote_request(i), 60s, [&, i](error_code ec, envelope e) { got[i] = ec ? "error: " + ec.message() : e.payload; });
  BOOST_TEST_REQUIRE(s.run_until([&] { return std::all_of(got.begin(), got.end(), [](auto& g) { return g.has_value(); }); }, 120s));
  int wrong = 0;
  for (int i = 0; i < count; ++i)
    if (*got[i] != "{\"n\":" + std::to_string(i) + "}") ++wrong;
  BOOST_TEST(wrong == 0);
  BOOST_TEST(req.stats().answered >= static_cast<std::uint64_t>(count));
  BOOST_TEST(req.stats().unmatched == 0u);
  BOOST_TEST(req.stats().pending == 0u);
  s.stop_server();
  replies.stop();
  s.run_until([] { return false; }, 500ms);
}

BOOST_AUTO_TEST_CASE(a_request_nobody_answers_times_out_and_a_failing_responder_replies_with_the_reason) {
  quote_system s;
  consumer replies(s.ioc.get_executor(), s.reply_config(1));
  requester req(s.ioc.get_executor(), s.out, replies, s.requester_for(1));
  replies.async_run(asio::detached);
  std::optional<error_code> timed;
  req.async_request(quote_request(1), 1500ms, [&](error_code ec, envelope) { timed = ec; });
  BOOST_TEST_REQUIRE(s.run_until([&] { return timed.has_value(); }, 20s));
  BOOST_TEST((*timed == error::timed_out), timed->message());

  s.serve([](const envelope& req, message_context&) -> asio::awaitable<envelope> {
    if (req.payload != "{\"n\":-1}") throw permanent_error("no tariff for this zone");
    co_return make_envelope("quote.provided", "1.0", req.payload, event_context{.source = "quotes"});
  });
  BOOST_TEST_REQUIRE(warm_up(s, req));
  std::optional<envelope> failed;
  const auto start = std::chrono::steady_clock::now();
  req.async_request(quote_request(2), 30s, [&](error_code ec, envelope e) {
    BOOST_TEST(!ec, ec.message());
    failed = std::move(e);
  });
  BOOST_TEST_REQUIRE(s.run_until([&] { return failed.has_value(); }, 40s));
  BOOST_TEST(is_failure_reply(*failed));
  BOOST_TEST(failure_reason(*failed) == "no tariff for this zone");
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s), "the failure reply came before the timeout");
  // The request that timed out before the responder ran fails too when it is read: both go to the DLQ.
  BOOST_TEST(s.run_until([&] { return s.server->stats().dead_lettered == 2u; }, 20s), "the failed requests went to the DLQ as usual");
  s.stop_server();
  replies.stop();
  s.run_until([] { return false; }, 500ms);
}

BOOST_AUTO_TEST_CASE(a_requester_restarted_with_requests_pending_gets_only_its_own_replies) {
  quote_system s;
  std::vector<std::string> old_ids;
  std::vector<error_code> old_results;
  {
    consumer replies(s.ioc.get_executor(), s.reply_config(0));
    requester old(s.ioc.get_executor(), s.out, replies, s.requester_for(0));
    replies.async_run(asio::detached);
    for (int i = 0; i < 20; ++i) {
      const envelope r = quote_request(100 + i);
      old_ids.push_back(r.id);
      old.async_request(r, 60s, [&](error_code ec, envelope) { old_results.push_back(ec); });
    }
    BOOST_TEST_REQUIRE(s.run_until([&] { return old.stats().sent == 20u; }, 30s));
    replies.stop();
    s.run_until([] { return false; }, 300ms);
  }  // the old requester is gone with 20 requests pending: they end with error::closed
  BOOST_TEST_REQUIRE(s.run_until([&] { return old_results.size() == 20u; }, 10s));
  for (const auto& ec : old_results) BOOST_TEST((ec == error::closed), ec.message());

  consumer replies(s.ioc.get_executor(), s.reply_config(0));
  requester fresh(s.ioc.get_executor(), s.out, replies, s.requester_for(0));
  replies.async_run(asio::detached);
  s.run_until([] { return false; }, 2s);  // the new reply consumer has its position before the old requests are served
  s.serve(echo);  // the 20 old requests are answered now, to partition 0
  BOOST_TEST_REQUIRE(warm_up(s, fresh));
  std::optional<std::string> mine;
  fresh.async_request(quote_request(7), 30s, [&](error_code ec, envelope e) { mine = ec ? ec.message() : e.payload; });
  BOOST_TEST_REQUIRE(s.run_until([&] { return mine.has_value() && fresh.stats().unmatched >= 20u; }, 60s));
  BOOST_TEST(*mine == "{\"n\":7}");
  BOOST_TEST(fresh.stats().unmatched == 20u, "the old requester's replies reached no one");
  s.stop_server();
  replies.stop();
  s.run_until([] { return false; }, 500ms);
}

BOOST_AUTO_TEST_SUITE_END()
