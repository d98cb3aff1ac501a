#pragma once
// Middleware: coroutines around every publish (producer.use) and every handler call
// (consumer.use), each given `next`, the rest of the chain. They run in registration order, the
// first registered outermost: use(a); use(b) runs a(b(publish)). A middleware can read and change
// what passes (a publish's topic, key and headers; the message_context's attributes), time it
// (around next), or fail it (return an error without calling next, or throw).
//
//   producer.use([](publish_call& call, publish_next next) -> awaitable<publish_result> {
//     call.set_header("tenant", "mz");
//     auto r = co_await next();
//     if (r.ec) log_failure(call, r);
//     co_return r;
//   });
//
// Observers (publish_observer, handler_observer) are the other kind: two plain calls, before
// and after, with no coroutine and no allocation of ours per call, for what watches and
// decorates without awaiting anything (metrics, tracing, logging are observers). They run
// outside every coroutine middleware, in their own registration order (after() in reverse).
#include <txova/kafka/delivery.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/timestamp.hpp>
#include <txova/kafka/trace_context.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka {

namespace detail {
struct publish_fields;
}

/// One publish as producer middleware see it: the event (read-only) and where and how it is sent.
class publish_call {
public:
  explicit publish_call(detail::publish_fields& f) noexcept : f_(&f) {}

  std::string_view event_id() const noexcept;
  std::string_view event_type() const noexcept;
  std::string_view event_version() const noexcept;
  std::string_view correlation_id() const noexcept;
  std::string_view source() const noexcept;
  timestamp time() const noexcept;
  std::size_t value_size() const noexcept;  ///< the encoded envelope's bytes

  std::string_view topic() const noexcept;
  void set_topic(std::string_view topic);
  std::string_view key() const noexcept;
  void set_key(std::string_view key);
  /// The headers sent after the envelope's own six (event-id, event-type, ...).
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept;
  std::optional<std::string_view> header(std::string_view name) const;
  /// Sets `name`, replacing an earlier value; false (and nothing set) for the envelope's own six.
  bool set_header(std::string_view name, std::string_view value);
  bool remove_header(std::string_view name);
  /// The trace the publish continues (event_context::trace, publish_options::trace, or the
  /// tracer's current span), written as traceparent/tracestate.
  const std::optional<trace_context>& trace() const noexcept;
  /// Sends `t` as the traceparent/tracestate instead (a tracing middleware's span), replacing them.
  void set_trace(const trace_context& t);

private:
  detail::publish_fields* f_;
};

/// The rest of a producer's chain: the next middleware, or the publish itself. Call it once.
using publish_next = std::function<boost::asio::awaitable<publish_result>()>;
using producer_middleware = std::function<boost::asio::awaitable<publish_result>(publish_call&, publish_next)>;

/// What an observer keeps from before() to after() of one call (a span, say).
struct observer_data {
  virtual ~observer_data() = default;
};
struct observer_scope {
  std::chrono::steady_clock::time_point started{};  ///< set just before before()
  std::unique_ptr<observer_data> data{};
};

/// Sees every publish through producer.use(observer) (the same publishes as middleware).
class publish_observer {
public:
  virtual ~publish_observer() = default;
  /// As the publish starts, on the caller's thread (where an ambient trace context is the
  /// caller's; a batch's, on the producer's strand), before any middleware: it may change the
  /// call, like a middleware before next().
  virtual void before(publish_call& call, observer_scope& scope) = 0;
  /// With the outcome, on the producer's strand, before the caller has it; `call` reads what was sent.
  virtual void after(const publish_call& call, const publish_result& result, observer_scope& scope) = 0;
};

class message_context;

/// Sees every handler attempt through consumer.use(observer), outside the consumer middleware.
class handler_observer {
public:
  virtual ~handler_observer() = default;
  virtual void before(const envelope& e, message_context& ctx, observer_scope& scope) = 0;
  /// `failure`: what the attempt threw (null when it succeeded).
  virtual void after(const envelope& e, message_context& ctx, const std::exception_ptr& failure, observer_scope& scope) = 0;
};
/// The rest of a consumer's chain: the next middleware, or the handler. Each attempt (retries
/// included) runs the whole chain.
using handler_next = std::function<boost::asio::awaitable<void>()>;
using consumer_middleware = std::function<boost::asio::awaitable<void>(const envelope&, message_context&, handler_next)>;

}  // namespace txova::kafka
