#pragma once
// The producer: `co_await producer.async_publish(envelope)` completes with the broker's
// acknowledgment. Driven by the caller's executor; librdkafka's own threads are the only ones.
//
// Every operation follows Asio's universal model (use_awaitable, deferred, a callback,
// use_future) and completes on the caller's executor. A producer is used from its executor
// (like a socket): its functions are not thread-safe.
//
// What happens to an event (docs/producer.md):
//  1. validated (envelope fields, payload, partition key, size): an invalid one fails at once and
//     is never sent;
//  2. handed to librdkafka (acks=all, idempotent); if its queue is full the publish waits for room
//     (cancellable);
//  3. librdkafka retries within delivery_timeout, keeping per-key order and without duplicates
//     (idempotence); our own re-sends after that are off by default (`retries`), because a
//     re-send is a new message that can overtake later ones of its key;
//  4. then the event goes to <topic>.dlq with the failure (dead_letter=true) and the caller gets
//     the original error, or error::dead_letter_failed when even the DLQ could not be written.
// Cancelling a publish stops the wait; it cannot take back a message librdkafka already sent
// (a failure after that is still dead-lettered and counted, see docs/producer.md).
#include <txova/kafka/config.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/delivery.hpp>
#include <txova/kafka/middleware.hpp>
#include <txova/kafka/producer_record.hpp>
#include <txova/kafka/publish_error.hpp>
#include <txova/kafka/detail/default_token.hpp>
#include <txova/kafka/timestamp.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace txova::kafka {

/// Overrides for one publish. Views: what they point at must live for the call to async_publish
/// only (it is copied at once), so `publish_options{.key = k}` in a co_await is safe.
struct publish_options {
  std::optional<std::string_view> topic{};  ///< instead of the routed topic
  std::optional<std::int32_t> partition{};  ///< instead of the partitioner's pick (a reply-to partition)
  std::optional<std::string_view> key{};    ///< instead of the catalog's partition key (needed for types not in the catalog)
  /// Headers sent after the envelope's own (event-id, event-type, correlation-id, schema-version,
  /// source, timestamp, which cannot be set here); a name given twice is sent once, the last value.
  std::vector<std::pair<std::string, std::string>> headers{};
  /// The trace the publish continues: written as traceparent/tracestate, replacing any given in
  /// `headers` (event_context::trace does the same for typed publishes).
  const trace_context* trace = nullptr;
};

/// Counters since the producer was created; gauges at the time of the call.
struct producer_stats {
  std::uint64_t sent = 0;           ///< acknowledged by the broker
  std::uint64_t failed = 0;         ///< ended with an error (validation failures included; cancellations not)
  std::uint64_t retried = 0;        ///< our retries (librdkafka's own are not counted)
  std::uint64_t dead_lettered = 0;  ///< written to a DLQ
  std::uint64_t cancelled = 0;      ///< cancelled by their caller before they were sent
  std::uint64_t failed_after_cancel = 0;  ///< cancelled in flight, then not delivered (dead-lettered or reported)
  std::uint64_t rejected = 0;       ///< publish_detached calls refused at once for want of room
  std::size_t in_flight = 0;        ///< publishes not yet completed
  std::size_t queue_depth = 0;      ///< messages in librdkafka's queues (rd_kafka_outq_len)
  std::size_t waiting_for_room = 0; ///< publishes waiting because librdkafka's queue was full
  bool fatal = false;               ///< librdkafka hit a fatal error: nothing more can be sent
};

/// One event async_close could not deliver.
struct undelivered_event {
  std::string event_id{};
  std::string topic{};
  std::string reason{};
};
/// The outcome of async_close: every event that was not delivered, with why.
struct close_report {
  std::vector<undelivered_event> undelivered{};
  bool clean() const noexcept { return undelivered.empty(); }
};

/// The outcome of async_health_check.
struct health_report {
  bool healthy = false;
  std::chrono::milliseconds round_trip{0};
  std::string detail{};  ///< why not healthy
};

namespace detail {
class producer_core;
class producer_port;
using publish_handler = boost::asio::any_completion_handler<void(boost::system::error_code, delivery)>;
using batch_handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<publish_result>)>;
using flush_handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
using close_handler = boost::asio::any_completion_handler<void(boost::system::error_code, close_report)>;
using health_handler = boost::asio::any_completion_handler<void(boost::system::error_code, health_report)>;
/// A producer over librdkafka.
std::shared_ptr<producer_core> make_producer_core(boost::asio::any_io_executor ex, producer_config cfg);
/// A producer over another port (tests, the test kit): `port` stands in for librdkafka.
std::shared_ptr<producer_core> make_producer_core(boost::asio::any_io_executor ex, producer_config cfg,
                                                  std::unique_ptr<producer_port> port);
struct prepared_publish;  // validated and encoded, or why not
struct prepared_deleter {
  void operator()(prepared_publish*) const noexcept;
};
using prepared_ptr = std::unique_ptr<prepared_publish, prepared_deleter>;
prepared_ptr prepare_publish(producer_core&, const envelope&, const publish_options&);
prepared_ptr prepare_record(producer_core&, producer_record);
/// A publish refused before an envelope existed (a typed event that breaks its own rules).
prepared_ptr prepare_failed(producer_core&, std::string_view type, diagnostic why);
/// An envelope whose payload was checked as a typed value: its other fields are checked, the
/// payload is not parsed again.
prepared_ptr prepare_checked(producer_core&, const envelope&, std::string key, const publish_options&,
                             const trace_context* trace);

// A typed event: its own rules (the ones its typed decoding applies), its key from the struct,
// then the envelope, encoded once.
template <event Event>
prepared_ptr prepare_event(producer_core& c, const Event& ev, const event_context& ctx, const publish_options& opt) {
  if (diagnostic d = ctx.check()) return prepare_failed(c, Event::info.type, std::move(d));
  if (diagnostic d = validate_value(ev, "payload")) return prepare_failed(c, Event::info.type, std::move(d));
  std::string key;
  if (opt.key) {
    key = std::string(*opt.key);
  } else {
    auto k = event_key(ev);
    if (!k) return prepare_failed(c, Event::info.type, k.error());
    key = std::move(*k);
  }
  return prepare_checked(c, make_envelope(ev, ctx), std::move(key), opt, ctx.trace ? &*ctx.trace : opt.trace);
}
void start_publish(producer_core&, prepared_ptr, publish_handler);
void use(producer_core&, producer_middleware);
void use(producer_core&, std::shared_ptr<publish_observer>);
void start_publish_batch(producer_core&, std::vector<envelope>, batch_handler);
boost::system::error_code publish_detached(producer_core&, prepared_ptr, publish_handler);
void start_flush(producer_core&, std::chrono::milliseconds, flush_handler);
void start_close(producer_core&, std::chrono::milliseconds, close_handler);
void start_health_check(producer_core&, std::chrono::milliseconds, health_handler);
producer_stats stats(const producer_core&);
const std::string& client_id(const producer_core&);
void destroy(producer_core&) noexcept;
}  // namespace detail

/// A producer's counters, readable from any thread for as long as the producer lives: what
/// metrics::watch() reads at each scrape.
class producer_telemetry {
public:
  producer_telemetry() = default;
  producer_telemetry(const std::shared_ptr<detail::producer_core>& c, std::string client_id)
      : core_(c), client_id_(std::move(client_id)) {}
  /// nullopt once the producer is gone.
  std::optional<producer_stats> stats() const {
    if (auto c = core_.lock()) return detail::stats(*c);
    return std::nullopt;
  }
  const std::string& client_id() const noexcept { return client_id_; }

private:
  std::weak_ptr<detail::producer_core> core_;
  std::string client_id_;
};

template <class Executor = boost::asio::any_io_executor>
class basic_producer {
public:
  using executor_type = Executor;
  /// What an operation completes with when no token is named: `co_await p.async_publish(e)`.
  using default_token = detail::default_token_t<Executor>;

  /// Validates `cfg` (throws diagnostic_error naming the bad field) and connects lazily.
  basic_producer(Executor ex, producer_config cfg)
      : ex_(std::move(ex)), core_(detail::make_producer_core(ex_, std::move(cfg))) {}
  /// A producer whose messages go to `port` instead of librdkafka (tests and the test kit).
  basic_producer(Executor ex, producer_config cfg, std::unique_ptr<detail::producer_port> port)
      : ex_(std::move(ex)), core_(detail::make_producer_core(ex_, std::move(cfg), std::move(port))) {}
  /// Pending publishes complete with operation_aborted; librdkafka's queue is purged.
  /// Call async_close first to deliver what is queued.
  ~basic_producer() {
    if (core_) detail::destroy(*core_);
  }
  basic_producer(basic_producer&&) noexcept = default;
  basic_producer& operator=(basic_producer&&) = delete;

  executor_type get_executor() const noexcept { return ex_; }

  /// Runs `mw` around every later publish (async_publish, typed, batch, detached; not
  /// async_send's raw records), after the middleware registered before it (middleware.hpp).
  void use(producer_middleware mw) { detail::use(*core_, std::move(mw)); }
  /// Runs `o` around every later publish, outside every middleware (middleware.hpp).
  void use(std::shared_ptr<publish_observer> o) { detail::use(*core_, std::move(o)); }

  /// Publishes `e` to its routed topic, keyed by its partition key: completes with
  /// (error_code, delivery). An empty correlation_id starts a new chain (the event's id).
  template <boost::asio::completion_token_for<void(boost::system::error_code, delivery)> Token = default_token>
  auto async_publish(const envelope& e, Token&& token = {}) {
    return async_publish(e, publish_options{}, std::forward<Token>(token));
  }

  template <boost::asio::completion_token_for<void(boost::system::error_code, delivery)> Token = default_token>
  auto async_publish(const envelope& e, publish_options options, Token&& token = {}) {
    // Validated and encoded now, so the envelope is read once and not copied; a deferred
    // operation carries the encoded bytes.
    return boost::asio::async_initiate<Token, void(boost::system::error_code, delivery)>(
        [core = core_](auto handler, detail::prepared_ptr p) {
          detail::start_publish(*core, std::move(p), std::move(handler));
        },
        token, detail::prepare_publish(*core_, e, options));
  }

  /// A typed catalog event: type, version, topic and key come from its catalog entry. The event
  /// is checked by its own rules first (what its typed decoding on the consumer side checks); one
  /// that breaks them completes at once with the diagnostic naming the field and is never sent.
  /// `ctx` and `options` are taken by value: a braced temporary in the co_await is safe.
  template <event Event, boost::asio::completion_token_for<void(boost::system::error_code, delivery)> Token = default_token>
  auto async_publish(const Event& ev, event_context ctx, Token&& token = {}) {
    return async_publish(ev, std::move(ctx), publish_options{}, std::forward<Token>(token));
  }
  template <event Event, boost::asio::completion_token_for<void(boost::system::error_code, delivery)> Token = default_token>
  auto async_publish(const Event& ev, event_context ctx, publish_options options, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, delivery)>(
        [core = core_](auto handler, detail::prepared_ptr p) {
          detail::start_publish(*core, std::move(p), std::move(handler));
        },
        token, detail::prepare_event(*core_, ev, ctx, options));
  }

  /// Validates every envelope before sending any: if one is invalid nothing is sent, it carries
  /// its validation error and the others error::not_sent. Otherwise all are sent and each gets
  /// its own result; the error_code is error::batch_incomplete when any failed.
  template <class Token = default_token>
  auto async_publish_batch(std::vector<envelope> envelopes, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::vector<publish_result>)>(
        [core = core_](auto handler, std::vector<envelope> es) {
          detail::start_publish_batch(*core, std::move(es), std::move(handler));
        },
        token, std::move(envelopes));
  }

  /// Sends `record` as is to its topic (retried like a publish, never dead-lettered itself):
  /// completes with (error_code, delivery).
  template <boost::asio::completion_token_for<void(boost::system::error_code, delivery)> Token = default_token>
  auto async_send(producer_record record, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, delivery)>(
        [core = core_](auto handler, detail::prepared_ptr p) {
          detail::start_publish(*core, std::move(p), std::move(handler));
        },
        token, detail::prepare_record(*core_, std::move(record)));
  }

  /// Fire and forget: `on_delivery` (may be empty) runs on the producer's executor with the
  /// outcome. When librdkafka's queue is full the publish waits for room like any other, but at
  /// most max_detached_waiting of them wait: beyond that it fails at once with
  /// error::queue_full, which is also returned (success means it was taken).
  boost::system::error_code publish_detached(const envelope& e,
                                             std::function<void(boost::system::error_code, const delivery&)> on_delivery = {}) {
    return detail::publish_detached(
        *core_, detail::prepare_publish(*core_, e, publish_options{}),
        boost::asio::bind_executor(ex_, [cb = std::move(on_delivery)](boost::system::error_code ec, delivery d) {
          if (cb) cb(ec, d);
        }));
  }

  /// Waits until every publish so far has completed, or `timeout` passes: completes with
  /// (error::timed_out or success, publishes still in flight).
  template <class Token = default_token>
  auto async_flush(std::chrono::milliseconds timeout, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [core = core_](auto handler, std::chrono::milliseconds t) { detail::start_flush(*core, t, std::move(handler)); },
        token, timeout);
  }

  /// Stops taking publishes, delivers what is queued until `timeout`, then purges the rest:
  /// completes with (error::timed_out when something was not delivered, the report).
  template <class Token = default_token>
  auto async_close(std::chrono::milliseconds timeout, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, close_report)>(
        [core = core_](auto handler, std::chrono::milliseconds t) { detail::start_close(*core, t, std::move(handler)); },
        token, timeout);
  }

  /// A round trip through the cluster within `timeout` (docs/producer.md says which); unhealthy
  /// at once after a fatal error.
  template <class Token = default_token>
  auto async_health_check(std::chrono::milliseconds timeout, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, health_report)>(
        [core = core_](auto handler, std::chrono::milliseconds t) {
          detail::start_health_check(*core, t, std::move(handler));
        },
        token, timeout);
  }

  producer_stats stats() const { return detail::stats(*core_); }
  /// stats() for another thread or a metrics registry, as long as this producer lives.
  producer_telemetry telemetry() const { return producer_telemetry(core_, detail::client_id(*core_)); }

private:
  Executor ex_;
  std::shared_ptr<detail::producer_core> core_;
};

using producer = basic_producer<>;

}  // namespace txova::kafka
