// Producer and consumer middleware over the fake ports: registration order (outermost first),
// reading and changing what passes, timing around next, failing a call, and every publish kind.
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include "client_fixtures.hpp"
#include "consumer_fixture.hpp"
#include "test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;

namespace {

using producer_fixture = test::fake_producer;

// Group "billing" on txova.rides.v1; a transient failure is retried once.
consumer_config retrying_once() {
  consumer_config cfg = consumer_fixture::fixture::config();
  cfg.max_retries = 1;
  return cfg;
}

// Assigns txova.rides.v1[0] and fetches one ride.started at offset 0.
void feed_one_ride(consumer_fixture::fixture& f) {
  f.port->assign({{consumer_fixture::topic, 0}});
  f.port->record(consumer_fixture::record_at(0, consumer_fixture::ride_event()));
}

envelope ride_event() {
  return make_envelope(events::ride_started{ids::ride_id("ride-1"), now_utc(), location{-25.96, 32.58}},
                       event_context{.source = "ride-service"});
}

// A middleware that records when it runs, around next.
producer_middleware tracing_into(std::vector<std::string>& log, std::string name) {
  return [&log, name](publish_call& call, publish_next next) -> asio::awaitable<publish_result> {
    log.push_back(name + " before " + std::string(call.event_type()));
    auto r = co_await next();
    log.push_back(name + " after " + (r.ec ? r.ec.message() : std::string(call.event_id()) == r.result.event_id ? "ok" : "wrong id"));
    co_return r;
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(middleware_chains)

BOOST_AUTO_TEST_CASE(producer_middleware_run_outermost_first_and_can_change_headers_topic_and_key) {
  producer_fixture f;
  std::vector<std::string> log;
  f.p->use(tracing_into(log, "a"));
  f.p->use([&](publish_call& call, publish_next next) -> asio::awaitable<publish_result> {
    BOOST_TEST(call.set_header("tenant", "mz"));
    BOOST_TEST(!call.set_header("event-id", "forged"), "the envelope's own headers stay its own");
    call.set_topic("txova.rides.audit.v1");
    call.set_key("audit-key");
    co_return co_await next();
  });
  f.p->use(tracing_into(log, "c"));
  std::optional<error_code> ec;
  f.p->async_publish(ride_event(), [&](error_code e, delivery) { ec = e; });
  test::run_until(f.ioc, [&] { return ec.has_value(); });
  BOOST_TEST_REQUIRE(ec.has_value());
  BOOST_TEST(!*ec, ec->message());
  BOOST_TEST((log == std::vector<std::string>{"a before ride.started", "c before ride.started", "c after ok", "a after ok"}));
  BOOST_TEST_REQUIRE(f.port->sent.size() == 1u);
  const auto& sent = f.port->sent[0];
  BOOST_TEST(sent.topic == "txova.rides.audit.v1");
  BOOST_TEST(*sent.key == "audit-key");
  BOOST_TEST(sent.headers.back().first == "tenant");
  std::size_t ids = 0;
  for (const auto& [k, v] : sent.headers) ids += k == "event-id";
  BOOST_TEST(ids == 1u);
}

BOOST_AUTO_TEST_CASE(a_producer_middleware_can_fail_a_publish_and_one_that_throws_fails_it_with_the_reason) {
  producer_fixture f;
  bool refuse = true;
  f.p->use([&](publish_call& call, publish_next next) -> asio::awaitable<publish_result> {
    if (refuse) co_return publish_result{make_error_code(error::invalid_field), delivery{std::string(call.topic())}};
    if (call.event_type() == "ride.started") throw std::runtime_error("quota exceeded");
    co_return co_await next();
  });
  std::optional<error_code> first, second;
  delivery d;
  f.p->async_publish(ride_event(), [&](error_code e, delivery) { first = e; });
  test::run_until(f.ioc, [&] { return first.has_value(); });
  BOOST_TEST((*first == error::invalid_field));
  refuse = false;
  f.p->async_publish(ride_event(), [&](error_code e, delivery del) {
    second = e;
    d = std::move(del);
  });
  test::run_until(f.ioc, [&] { return second.has_value(); });
  BOOST_TEST((*second == error::internal));
  BOOST_TEST(d.error_message.find("quota exceeded") != std::string::npos, d.error_message);
  BOOST_TEST(f.port->sent.empty(), "neither was sent");
  BOOST_TEST(f.p->stats().failed == 2u);
}

BOOST_AUTO_TEST_CASE(typed_batch_and_detached_publishes_go_through_the_chain_too) {
  producer_fixture f;
  std::vector<std::string> log;
  f.p->use(tracing_into(log, "m"));
  std::size_t done = 0;
  f.p->async_publish(events::ride_started{ids::ride_id("ride-2"), now_utc(), location{-25.96, 32.58}},
                     event_context{.source = "ride-service"}, [&](error_code, delivery) { ++done; });
  f.p->async_publish_batch(std::vector<envelope>{ride_event(), ride_event()}, [&](error_code, std::vector<publish_result>) { ++done; });
  BOOST_TEST(!f.p->publish_detached(ride_event(), [&](error_code, const delivery&) { ++done; }));
  test::run_until(f.ioc, [&] { return done == 3; });
  BOOST_TEST(done == 3u);
  BOOST_TEST(log.size() == 8u, "four publishes, each before and after");
  BOOST_TEST(f.port->sent.size() == 4u);
}

BOOST_AUTO_TEST_CASE(consumer_middleware_wrap_each_attempt_outermost_first_and_pass_attributes) {
  consumer_fixture::fixture f(retrying_once());
  consumer& c = *f.c;
  std::vector<std::string> log;
  c.use([&](const envelope& e, message_context& ctx, handler_next next) -> asio::awaitable<void> {
    log.push_back("outer " + e.type + " attempt " + std::to_string(ctx.attempt()));
    ctx.set_attribute("tenant", "mz");
    try {
      co_await next();
    } catch (const std::exception& x) {
      log.push_back(std::string("outer saw ") + x.what());
      throw;
    }
  });
  c.use([&](const envelope&, message_context& ctx, handler_next next) -> asio::awaitable<void> {
    log.push_back("inner tenant " + std::string(ctx.attribute("tenant").value_or("?")));
    co_await next();
  });
  int calls = 0;
  c.routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    if (++calls == 1) throw transient_error("down");
    co_return;
  });
  f.run();
  feed_one_ride(f);
  BOOST_TEST_REQUIRE(f.run_until([&] { return c.stats().handled == 1; }));
  BOOST_TEST((log == std::vector<std::string>{"outer ride.started attempt 1", "inner tenant mz", "outer saw down",
                                              "outer ride.started attempt 2", "inner tenant mz"}));
  BOOST_CHECK_THROW(c.use([](const envelope&, message_context&, handler_next n) -> asio::awaitable<void> { co_await n(); }),
                    diagnostic_error);
  f.stop();
}

namespace {

// An observer that records its calls into `log`.
struct logging_observer : publish_observer, handler_observer {
  logging_observer(std::vector<std::string>& l, std::string n, bool t = false) : log(&l), name(std::move(n)), throws(t) {}
  std::vector<std::string>* log;
  std::string name;
  bool throws;
  void before(publish_call& call, observer_scope& scope) override {
    log->push_back(name + " before");
    scope.data = std::make_unique<observer_data>();
    call.set_header("seen-by-" + name, "yes");
    if (throws) throw std::runtime_error("observer bug");
  }
  void after(const publish_call& call, const publish_result& r, observer_scope& scope) override {
    log->push_back(name + " after " + (r.ec ? r.ec.message() : "ok") + (scope.data ? "" : " (no scope)") +
                   (call.header("seen-by-" + name) ? "" : " (header lost)"));
  }
  void before(const envelope&, message_context& ctx, observer_scope&) override {
    log->push_back(name + " before attempt " + std::to_string(ctx.attempt()));
  }
  void after(const envelope&, message_context&, const std::exception_ptr& failure, observer_scope&) override {
    log->push_back(name + " after " + (failure ? "failed" : "ok"));
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(observers_run_outside_the_middleware_once_each_and_cannot_break_a_publish) {
  producer_fixture f;
  std::vector<std::string> log;
  f.p->use(std::shared_ptr<publish_observer>(std::make_shared<logging_observer>(log, "o1")));
  f.p->use(tracing_into(log, "mw"));
  f.p->use(std::shared_ptr<publish_observer>(std::make_shared<logging_observer>(log, "o2", true)));
  std::optional<error_code> ec;
  f.p->async_publish(ride_event(), [&](error_code e, delivery) {
    log.push_back("caller");
    ec = e;
  });
  test::run_until(f.ioc, [&] { return ec.has_value(); });
  BOOST_TEST_REQUIRE(ec.has_value());
  BOOST_TEST(!*ec, ec->message());
  BOOST_TEST((log == std::vector<std::string>{"o1 before", "o2 before", "mw before ride.started", "mw after ok", "o2 after ok",
                                              "o1 after ok", "caller"}),
             "got " << log.size() << " calls");
  BOOST_TEST_REQUIRE(f.port->sent.size() == 1u);
  std::size_t seen = 0;
  for (const auto& [k, v] : f.port->sent[0].headers) seen += k.starts_with("seen-by-");
  BOOST_TEST(seen == 2u, "what before() set is sent");

  // Without coroutine middleware too, and for detached publishes.
  producer_fixture g;
  log.clear();
  g.p->use(std::shared_ptr<publish_observer>(std::make_shared<logging_observer>(log, "o")));
  BOOST_TEST(!g.p->publish_detached(ride_event(), [](error_code, const delivery&) {}));
  test::run_until(g.ioc, [&] { return log.size() == 2u; });
  BOOST_TEST((log == std::vector<std::string>{"o before", "o after ok"}));
}

BOOST_AUTO_TEST_CASE(handler_observers_see_every_attempt_and_its_failure) {
  consumer_fixture::fixture f(retrying_once());
  consumer& c = *f.c;
  std::vector<std::string> log;
  c.use(std::shared_ptr<handler_observer>(std::make_shared<logging_observer>(log, "o")));
  c.use([&](const envelope&, message_context&, handler_next next) -> asio::awaitable<void> {
    log.push_back("mw");
    co_await next();
  });
  int calls = 0;
  c.routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    if (++calls == 1) throw transient_error("down");
    co_return;
  });
  f.run();
  feed_one_ride(f);
  BOOST_TEST_REQUIRE(f.run_until([&] { return c.stats().handled == 1; }));
  BOOST_TEST((log == std::vector<std::string>{"o before attempt 1", "mw", "o after failed", "o before attempt 2", "mw", "o after ok"}));
  f.stop();
}

BOOST_AUTO_TEST_SUITE_END()
