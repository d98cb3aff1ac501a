// The test kit's handler driver (testing/handler_driver.hpp): the consumer's routes on one record
// without a broker, with the outcome, the DLQ record, and the backoff on a virtual clock.
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/testing/envelopes.hpp>
#include <txova/kafka/testing/handler_driver.hpp>
#include <txova/kafka/testing/recording_producer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <thread>

using namespace txova::kafka;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {
events::ride_started ride(std::string id) { return events::ride_started{ids::ride_id(std::move(id)), now_utc(), location{-25.96, 32.58}}; }
const std::string rides = "txova.rides.v1";

consumed_record ride_record(std::int64_t offset, std::int32_t partition = 0) {
  return testing::envelope_for(ride("ride-7")).deterministic(offset + 1).consumed(rides, partition, offset);
}

// A handler that fails its first `n` attempts with `make_error`, then succeeds.
template <class Error>
message_handler failing(int n, int& calls, std::string what) {
  return [n, &calls, what](const envelope&, message_context&) -> asio::awaitable<void> {
    if (++calls <= n) throw Error(what);
    co_return;
  };
}
}  // namespace

BOOST_AUTO_TEST_SUITE(testkit_driver)

BOOST_AUTO_TEST_CASE(a_typed_route_handles_the_record_it_is_given) {
  testing::handler_driver driver;
  std::vector<std::string> seen;
  driver.routes().on<events::ride_started>([&](const events::ride_started& e, message_context& ctx) -> asio::awaitable<void> {
    seen.push_back(std::string(e.ride_id.str()) + "@" + std::string(ctx.topic()) + "[" + std::to_string(ctx.partition()) +
                   "]@" + std::to_string(ctx.offset()) + " attempt " + std::to_string(ctx.attempt()));
    co_return;
  });
  const auto o = driver.drive(ride_record(41, 2));
  BOOST_TEST(o.handled(), o.reason);
  BOOST_TEST(o.attempts == 1);
  BOOST_TEST(o.failures.empty());
  BOOST_TEST(!o.dead_letter_record.has_value());
  BOOST_TEST((seen == std::vector<std::string>{"ride-7@txova.rides.v1[2]@41 attempt 1"}));

  // The same offset again (a redelivery): handed over as a freshly assigned partition would.
  const auto again = driver.drive(ride_record(41, 2));
  BOOST_TEST(again.handled(), again.reason);
  const auto earlier = driver.drive(ride_record(3, 2));
  BOOST_TEST(earlier.handled(), earlier.reason);
  BOOST_TEST(seen.size() == 3u);
  BOOST_TEST(seen.back() == "ride-7@txova.rides.v1[2]@3 attempt 1");
  BOOST_TEST(driver.consumer().stats().handled == 3u);
}

BOOST_AUTO_TEST_CASE(retries_run_on_a_virtual_clock_then_the_record_is_dead_lettered) {
  consumer_config cfg = testing::driver_config();
  cfg.max_retries = 3;
  cfg.retry_backoff = 2s;
  cfg.retry_backoff_max = 8s;
  testing::handler_driver driver(cfg);
  int calls = 0;
  driver.routes().on("ride.*", failing<std::runtime_error>(100, calls, "payments service unavailable"));

  const auto start = std::chrono::steady_clock::now();
  const auto o = driver.drive(ride_record(7));
  const auto took = std::chrono::steady_clock::now() - start;

  BOOST_TEST(o.dead_lettered(), to_string(o.result) << ": " << o.reason);
  BOOST_TEST(o.attempts == 4);
  BOOST_TEST(o.retries() == 3);
  BOOST_TEST(calls == 4);
  BOOST_TEST(o.failures.size() == 4u);
  BOOST_TEST(o.failures.front() == "payments service unavailable");
  BOOST_TEST_REQUIRE(o.backoffs.size() == 3u);
  std::chrono::milliseconds waited{0};
  for (auto b : o.backoffs) {
    BOOST_TEST(b.count() > 0);
    BOOST_TEST(b <= 8s);
    waited += b;
  }
  BOOST_TEST(waited >= 3s, "the backoffs are the configured ones (2 s doubling, with jitter)");
  BOOST_TEST(took < waited, "the waits were virtual: " << waited.count() << " ms of backoff did not pass in real time");

  BOOST_TEST(o.reason == "payments service unavailable");
  BOOST_TEST_REQUIRE(o.dead_letter_record.has_value());
  BOOST_TEST(o.dead_letter_record->record.topic == rides + ".dlq");
  BOOST_TEST(o.dead_letter_record->record.key.value_or("") == "ride-7");
  BOOST_TEST_REQUIRE(o.dead_letter.has_value());
  BOOST_TEST(o.dead_letter->failure.attempt_count == 4);
  BOOST_TEST(o.dead_letter->failure.original_offset == 7);
  BOOST_TEST(o.dead_letter->failure.error_message == "payments service unavailable");
  BOOST_TEST(o.dead_letter->event_type.value_or("") == "ride.started");
  BOOST_TEST(driver.dead_letters().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_handler_that_recovers_is_handled_after_its_retries) {
  testing::handler_driver driver;
  int calls = 0;
  driver.routes().on("ride.started", failing<std::runtime_error>(2, calls, "timeout talking to the ledger"));
  const auto o = driver.drive(ride_record(0));
  BOOST_TEST(o.handled(), o.reason);
  BOOST_TEST(o.attempts == 3);
  BOOST_TEST(o.backoffs.size() == 2u);
  BOOST_TEST(!o.dead_letter_record.has_value());
}

BOOST_AUTO_TEST_CASE(business_and_permanent_errors_poison_and_unrouted_records) {
  testing::handler_driver driver;
  int business = 0, permanent = 0;
  driver.routes().on("ride.started", failing<business_error>(1, business, "ride already refunded"));
  driver.routes().on("ride.completed", failing<permanent_error>(1, permanent, "ride has no driver"));

  const auto skipped = driver.drive(ride_record(0));
  BOOST_TEST(skipped.skipped(), to_string(skipped.result));
  BOOST_TEST(skipped.attempts == 1);
  BOOST_TEST(skipped.reason == "ride already refunded");

  const auto dead = driver.drive(testing::raw_envelope("ride.completed", "1.0", R"({"ride_id":"ride-7"})").consumed(rides, 0, 1));
  BOOST_TEST(dead.dead_lettered(), to_string(dead.result));
  BOOST_TEST(dead.attempts == 1, "a permanent error is not retried");
  BOOST_TEST(dead.backoffs.empty());

  const auto poison = driver.drive(testing::record_builder(rides).offset(2).key("ride-7").value("{not json").build());
  BOOST_TEST(poison.dead_lettered(), to_string(poison.result));
  BOOST_TEST(poison.attempts == 0);
  BOOST_TEST(poison.reason.find("not a valid envelope") != std::string::npos, poison.reason);
  BOOST_TEST_REQUIRE(poison.dead_letter.has_value());
  BOOST_TEST(poison.dead_letter->failure.original_value.value_or("") == "{not json");

  const auto unrouted = driver.drive(testing::raw_envelope("household.moved", "1.0", "{}").consumed(rides, 0, 3));
  BOOST_TEST(unrouted.skipped(), to_string(unrouted.result));
  BOOST_TEST(unrouted.reason.find("no route for event type \"household.moved\"") != std::string::npos, unrouted.reason);
  BOOST_TEST(driver.dead_letters().size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_handler_past_its_timeout_is_cancelled_and_counted) {
  consumer_config cfg = testing::driver_config();
  cfg.handler_timeout = 30ms;
  cfg.max_retries = 1;
  testing::handler_driver driver(cfg);
  driver.routes().on("ride.started", [](const envelope&, message_context&) -> asio::awaitable<void> {
    asio::steady_timer forever(co_await asio::this_coro::executor, std::chrono::hours(1));
    co_await forever.async_wait(asio::use_awaitable);
  });
  const auto o = driver.drive(ride_record(0));
  BOOST_TEST(o.dead_lettered(), to_string(o.result) << ": " << o.reason);
  BOOST_TEST(o.timed_out());
  BOOST_TEST(o.timeouts == 2);
  BOOST_TEST(o.attempts == 2);
  BOOST_TEST(o.reason == "handler timed out after 30 ms");
}

BOOST_AUTO_TEST_CASE(async_drives_complete_on_the_callers_executor_in_order) {
  asio::io_context ioc;
  testing::handler_driver driver(ioc.get_executor());
  testing::recording_producer out(ioc.get_executor());
  driver.routes().on<events::ride_started>([&](const events::ride_started& e, message_context& ctx) -> asio::awaitable<void> {
    const envelope follow = make_envelope(events::ride_completed{e.ride_id, now_utc(), 5.4, 12, money::minor(1200, "MZN")}, ctx.follow_up("billing"));
    co_await out.producer().async_publish(follow, asio::use_awaitable);
  });
  BOOST_CHECK_THROW(driver.drive(ride_record(0)), std::logic_error);

  std::vector<std::int64_t> order;
  std::vector<testing::handler_result> results;
  const auto main_thread = std::this_thread::get_id();
  bool on_caller = true;
  auto note = [&](std::int64_t offset) {
    return [&, offset](testing::handler_outcome o) {
      on_caller = on_caller && std::this_thread::get_id() == main_thread;
      order.push_back(offset);
      results.push_back(o.result);
    };
  };
  driver.async_drive(ride_record(0), note(0));  // a callback
  driver.async_drive(ride_record(0, 1), note(1));  // started before the first completed: waits for it
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        const testing::handler_outcome o = co_await driver.async_drive(ride_record(5), asio::use_awaitable);
        order.push_back(5);
        results.push_back(o.result);
      },
      asio::detached);
  ioc.run_for(5s);
  BOOST_TEST((order == std::vector<std::int64_t>{0, 1, 5}));
  BOOST_TEST((results == std::vector<testing::handler_result>(3, testing::handler_result::handled)));
  BOOST_TEST(on_caller);
  const auto follow_ups = out.store().events("ride.completed");
  BOOST_TEST_REQUIRE(follow_ups.size() == 3u);
  BOOST_TEST(follow_ups.front().source == "billing");
  BOOST_TEST(follow_ups.front().causation_id.value_or("") == ride_record(0).header("event-id").value_or("?"));
}

BOOST_AUTO_TEST_SUITE_END()
