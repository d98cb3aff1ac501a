#pragma once
// The consumer: a consumer-group member whose records are handled by coroutines.
//
//   consumer c(ioc.get_executor(), consumer_config{.brokers = ..., .service = "billing",
//                                                  .topics = {"txova.rides.v1"}});
//   c.routes().on<events::ride_completed>([&](const events::ride_completed& r, message_context& ctx)
//                                            -> awaitable<void> { ... });
//   co_await c.async_run();   // until stop(): then in-flight handlers finish, offsets are committed
//
// Concurrency (docs/consumer.md): records come from librdkafka through an async generator
// (records()); async_run hands each to its partition's strand, a worker coroutine that handles
// that partition's records one after another, so a partition is handled in order while
// partitions interleave. Everything runs on the consumer's executor (use a strand for a
// multi-threaded io_context); librdkafka's threads are the only others.
//
// At-least-once: an offset is committed only when every record before it in its partition is
// done (handled, dead-lettered, or skipped as a business error). A record whose handler keeps
// failing goes to <topic>.dlq; a DLQ write that fails is retried, never skipped, and when it
// keeps failing the consumer stops with an error (or, by choice, reports the partition stuck).
#include <txova/kafka/config.hpp>
#include <txova/kafka/handler.hpp>
#include <txova/kafka/middleware.hpp>
#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/detail/default_token.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace txova::kafka {

/// Counters since the consumer was created; gauges at the time of the call.
struct consumer_stats {
  std::uint64_t received = 0;       ///< records fetched
  std::uint64_t handled = 0;        ///< a handler succeeded
  std::uint64_t failed = 0;         ///< handler attempts that failed (timeouts included)
  std::uint64_t timed_out = 0;      ///< handler attempts cancelled at the handler timeout
  std::uint64_t retried = 0;        ///< retries after a transient failure
  std::uint64_t dead_lettered = 0;  ///< written to a DLQ (failed handlers and poison records)
  std::uint64_t poison = 0;         ///< records that were not a valid envelope (or too large)
  std::uint64_t skipped = 0;        ///< business errors and unrouted types, committed
  std::uint64_t tombstones = 0;     ///< records with a null value (see consumer_config::tombstones)
  std::uint64_t partition_errors = 0;  ///< errors librdkafka reported about a partition (nothing skipped)
  std::uint64_t dead_letter_failures = 0;  ///< DLQ writes that failed (and were tried again)
  std::uint64_t unknown_actor_types = 0;  ///< envelopes accepted with an actor.type the standard does not name
  std::uint64_t trimmed = 0;        ///< held partitions stopped and their prefetch dropped (memory bound)
  std::uint64_t commits = 0;        ///< offset commits the broker accepted
  std::uint64_t rebalances = 0;     ///< assignments and revocations
  std::uint64_t malformed_traceparents = 0;  ///< traceparent headers ignored as malformed (message_context::trace())
  std::size_t assigned = 0;         ///< partitions assigned now
  std::size_t in_flight = 0;        ///< records fetched and not done
  std::size_t paused = 0;           ///< partitions held at librdkafka now because their strand is full
  std::size_t stuck = 0;            ///< partitions whose DLQ write keeps failing (keep_retrying policy)
};

/// How far a partition is behind.
struct partition_lag {
  std::string topic{};
  std::int32_t partition = -1;
  std::int64_t high_watermark = -1;  ///< next offset the broker will write (-1: unknown yet)
  std::int64_t next_to_commit = -1;  ///< first offset not done here (-1: nothing fetched yet)
  std::int64_t lag = -1;             ///< records not done: high_watermark - next_to_commit
  std::int64_t stats_lag = -1;       ///< librdkafka statistics' consumer_lag (-1: not reported)
  /// Where librdkafka last reported the partition's end, with enable.partition.eof set in
  /// `properties` (-1: not reported).
  std::int64_t end_offset = -1;
  bool at_end = false;  ///< end_offset reported and every record before it done (mark_done, or handled)

};

/// The outcome of async_health_check.
struct consumer_health {
  bool healthy = false;
  bool running = false;
  std::size_t assigned_partitions = 0;
  std::chrono::milliseconds since_last_poll{0};
  bool brokers_reachable = true;         ///< false once librdkafka reports every broker down
  std::vector<std::string> stuck_partitions{};  ///< "topic[p]" whose DLQ write keeps failing
  std::vector<partition_lag> lag{};
  std::string detail{};  ///< why not healthy
};

namespace detail {
class consumer_core;
class consumer_port;
class producer_port;
using run_handler = boost::asio::any_completion_handler<void(boost::system::error_code)>;
using record_handler = boost::asio::any_completion_handler<void(boost::system::error_code, consumed_record)>;
using consumer_health_handler = boost::asio::any_completion_handler<void(boost::system::error_code, consumer_health)>;
std::shared_ptr<consumer_core> make_consumer_core(boost::asio::any_io_executor ex, consumer_config cfg);
/// A consumer over other ports (tests, the test kit): `port` stands in for librdkafka's consumer,
/// `dead_letters` (may be null: librdkafka) for its DLQ producer.
std::shared_ptr<consumer_core> make_consumer_core(boost::asio::any_io_executor ex, consumer_config cfg,
                                                  std::unique_ptr<consumer_port> port,
                                                  std::unique_ptr<producer_port> dead_letters);
router& routes(consumer_core&);
void start_run(consumer_core&, run_handler);
void start_next_record(consumer_core&, record_handler);
void mark_done(consumer_core&, const consumed_record&);
void use(consumer_core&, consumer_middleware);
void use(consumer_core&, std::shared_ptr<handler_observer>);
void abandon(consumer_core&, const consumed_record&);
void start_health_check(consumer_core&, consumer_health_handler);
void stop(consumer_core&);
consumer_stats stats(const consumer_core&);
std::vector<partition_lag> lag(const consumer_core&);
diagnostic failure(const consumer_core&);
void destroy(consumer_core&) noexcept;
}  // namespace detail

/// A consumer's counters and lag, readable from any thread for as long as the consumer lives:
/// what metrics::watch() reads at each scrape.
class consumer_telemetry {
public:
  consumer_telemetry() = default;
  explicit consumer_telemetry(const std::shared_ptr<detail::consumer_core>& c);
  /// nullopt once the consumer is gone.
  std::optional<consumer_stats> stats() const;
  /// The assigned partitions' lag as of the consumer's last tick (at most commit_interval old);
  /// empty until the tick after the first call.
  std::vector<partition_lag> lag() const;
  const std::string& group() const noexcept { return group_; }

private:
  std::weak_ptr<detail::consumer_core> core_;
  std::string group_;
};

template <class Executor = boost::asio::any_io_executor>
class basic_consumer {
public:
  using executor_type = Executor;
  /// What an operation completes with when no token is named: `co_await c.async_run()`.
  using default_token = detail::default_token_t<Executor>;

  /// The async generator of fetched records, for code that handles records itself instead of
  /// through routes: each record must be passed to mark_done() when finished, or it (and every
  /// later record of its partition) is never committed.
  class record_stream {
  public:
    /// The next fetched record: (error_code, record); error::closed once the consumer stopped.
    template <boost::asio::completion_token_for<void(boost::system::error_code, consumed_record)> Token =
                  detail::default_token_t<Executor>>
    auto async_next(Token&& token = {}) {
      return boost::asio::async_initiate<Token, void(boost::system::error_code, consumed_record)>(
          [core = core_](auto handler) { detail::start_next_record(*core, std::move(handler)); }, token);
    }

  private:
    friend class basic_consumer;
    explicit record_stream(std::shared_ptr<detail::consumer_core> c) : core_(std::move(c)) {}
    std::shared_ptr<detail::consumer_core> core_;
  };

  /// Validates `cfg` (throws diagnostic_error naming the bad field); joins the group when run.
  basic_consumer(Executor ex, consumer_config cfg)
      : ex_(std::move(ex)), core_(detail::make_consumer_core(ex_, std::move(cfg))) {}
  /// A consumer over other ports than librdkafka's (tests, the test kit).
  basic_consumer(Executor ex, consumer_config cfg, std::unique_ptr<detail::consumer_port> port,
                 std::unique_ptr<detail::producer_port> dead_letters = nullptr)
      : ex_(std::move(ex)), core_(detail::make_consumer_core(ex_, std::move(cfg), std::move(port), std::move(dead_letters))) {}
  /// Stops at once: nothing more is committed (what was not is redelivered to the group).
  /// Run async_run to its end (stop()) for a graceful shutdown.
  ~basic_consumer() {
    if (core_) detail::destroy(*core_);
  }
  basic_consumer(basic_consumer&&) noexcept = default;
  basic_consumer& operator=(basic_consumer&&) = delete;

  executor_type get_executor() const noexcept { return ex_; }

  /// The routes; set them up before async_run.
  router& routes() { return detail::routes(*core_); }
  /// Runs `mw` around every handler call (each attempt), inside the middleware registered before
  /// it (middleware.hpp). Before async_run; later, it throws diagnostic_error (invalid_config).
  void use(consumer_middleware mw) { detail::use(*core_, std::move(mw)); }
  /// Runs `o` around every handler attempt, outside every middleware (middleware.hpp).
  void use(std::shared_ptr<handler_observer> o) { detail::use(*core_, std::move(o)); }

  /// Joins the group and handles records until stop(); then finishes in-flight handlers (at most
  /// shutdown_timeout), commits, and leaves the group. Completes with (error_code): success after
  /// a clean stop, error::timed_out when handlers had to be cancelled or a final commit did not
  /// make it, error::closed when the consumer already ran (once records() is in use, it waits
  /// for the shutdown stop() starts and completes with its result); when the consumer stopped on its own
  /// (a DLQ that cannot be written, a fatal or internal error), that error, described by
  /// failure().
  template <boost::asio::completion_token_for<void(boost::system::error_code)> Token = default_token>
  auto async_run(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [core = core_](auto handler) { detail::start_run(*core, std::move(handler)); }, token);
  }

  /// The generator underneath async_run (joins the group on first use when async_run does not run).
  record_stream records() { return record_stream(core_); }
  /// A record from records() is finished: it may be committed once those before it are.
  void mark_done(const consumed_record& r) { detail::mark_done(*core_, r); }
  /// A record from records() that will not be finished: it and every later record of its
  /// partition stay uncommitted (the group's next reader gets them), and stop() does not wait for it.
  void abandon(const consumed_record& r) { detail::abandon(*core_, r); }

  /// Graceful shutdown (see async_run); a second call cancels in-flight handlers at once.
  void stop() { detail::stop(*core_); }

  /// Assigned partitions, time since the last poll of librdkafka, and per-partition lag.
  template <boost::asio::completion_token_for<void(boost::system::error_code, consumer_health)> Token = default_token>
  auto async_health_check(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, consumer_health)>(
        [core = core_](auto handler) { detail::start_health_check(*core, std::move(handler)); }, token);
  }

  consumer_stats stats() const { return detail::stats(*core_); }
  /// stats() and lag() for another thread or a metrics registry, as long as this consumer lives.
  consumer_telemetry telemetry() const { return consumer_telemetry(core_); }
  /// Per-partition lag of the assigned partitions (on the consumer's executor; telemetry().lag()
  /// from anywhere).
  std::vector<partition_lag> lag() const { return detail::lag(*core_); }
  /// Why the consumer stopped on its own, naming what and with which values (empty otherwise).
  diagnostic failure() const { return detail::failure(*core_); }

private:
  Executor ex_;
  std::shared_ptr<detail::consumer_core> core_;
};

using consumer = basic_consumer<>;

}  // namespace txova::kafka
