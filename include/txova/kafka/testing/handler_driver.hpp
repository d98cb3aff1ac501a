#pragma once
// The test kit's handler driver: the consumer's routes run on one record at a time without a
// broker, and each record comes back as an outcome. It is the real consumer (the same `consumer`
// type, the same router, typed routes, fallback, middleware, observers, handler timeout, retry
// and DLQ decisions, dead letter builder) over an in-memory port, so what passes here is what the
// consumer would do. The backoff between attempts runs on a virtual clock by default: a test of
// three retries does not sleep, and the outcome says what the waits would have been.
//
//   testing::handler_driver driver;                      // its own io_context
//   testing::recording_producer out(driver.get_executor());
//   billing svc(out.producer());
//   svc.add_routes(driver.routes());                     // before the first drive
//   auto o = driver.drive(testing::envelope_for(events::ride_completed{...}).consumed());
//   BOOST_TEST(o.handled());
//   BOOST_TEST(out.store().events("payment.*").size() == 1);
//
// Records are driven one after another: a drive completes when the consumer finished the record
// (handled, skipped, dead-lettered) or could not (it stopped, or `limit` passed).
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/testing/event_store.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka::testing {

enum class handler_result {
  handled,        ///< a handler finished without an error
  skipped,        ///< committed unhandled: a business error, no route (log_and_commit), a tombstone
  dead_lettered,  ///< written to the DLQ (after the retries, or at once for poison and permanent errors)
  not_finished,   ///< the consumer did not finish it: it stopped, or the drive's limit passed
};
std::string_view to_string(handler_result r) noexcept;

struct handler_outcome {
  handler_result result = handler_result::not_finished;
  int attempts = 0;  ///< handler calls (0: none ran, e.g. a record that is not an envelope)
  int timeouts = 0;  ///< attempts cut by handler_timeout
  std::vector<std::string> failures{};                    ///< each failed attempt's reason, in order
  std::vector<std::chrono::milliseconds> backoffs{};      ///< each wait the consumer took (retries, DLQ writes)
  std::string reason{};                                   ///< why it was skipped, dead-lettered or not finished
  std::optional<stored_record> dead_letter_record{};      ///< the DLQ record written: topic, key, headers, value
  std::optional<decoded_dead_letter> dead_letter{};       ///< that record as the DLQ replayer reads it

  bool handled() const noexcept { return result == handler_result::handled; }
  bool skipped() const noexcept { return result == handler_result::skipped; }
  bool dead_lettered() const noexcept { return result == handler_result::dead_lettered; }
  bool timed_out() const noexcept { return timeouts > 0; }
  /// Attempts after the first.
  int retries() const noexcept { return attempts > 1 ? attempts - 1 : 0; }
};

struct driver_options {
  bool virtual_time = true;  ///< backoffs return at once (the outcome lists them); false: real waits
  /// drive() gives up on a record after this much real time (a handler that never returns with
  /// handler_timeout raised), with not_finished.
  std::chrono::milliseconds limit = std::chrono::seconds(30);
};

/// The consumer configuration a driver starts from: the library's defaults (retries, backoff,
/// handler timeout, DLQ naming, policies), with placeholders for what needs a broker.
consumer_config driver_config();

class handler_driver {
public:
  /// With its own io_context: drive() runs it.
  explicit handler_driver(consumer_config cfg = driver_config(), driver_options options = {});
  /// On the caller's executor: use async_drive, and run the executor's context yourself.
  explicit handler_driver(boost::asio::any_io_executor ex, consumer_config cfg = driver_config(), driver_options options = {});
  /// Stops the consumer (and, with its own io_context, runs it until the consumer is done).
  ~handler_driver();
  handler_driver(const handler_driver&) = delete;
  handler_driver& operator=(const handler_driver&) = delete;

  boost::asio::any_io_executor get_executor() const noexcept;
  /// The consumer the records go through: routes, use(middleware), use(observer), stats().
  kafka::consumer& consumer() noexcept;
  router& routes() { return consumer().routes(); }
  /// Every dead letter written, in order.
  event_store& dead_letters() noexcept;

  /// Drives `r` and runs the driver's own io_context until its outcome is known. Throws
  /// std::logic_error on a driver made on the caller's executor.
  handler_outcome drive(consumed_record r);
  handler_outcome drive(record_data r) { return drive(consumed_record(std::move(r))); }

  /// Drives `r`; completes with its outcome on the caller's executor. A second drive started
  /// before the first completed waits for it.
  template <boost::asio::completion_token_for<void(handler_outcome)> Token = boost::asio::default_completion_token_t<boost::asio::any_io_executor>>
  auto async_drive(consumed_record r, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(handler_outcome)>(
        [this](auto handler, consumed_record rec) { start_drive(std::move(rec), std::move(handler)); }, token, std::move(r));
  }

  struct state;

private:
  void start_drive(consumed_record r, boost::asio::any_completion_handler<void(handler_outcome)> h);
  std::shared_ptr<state> state_;
};

}  // namespace txova::kafka::testing
