#pragma once
// What a consumer hands to a handler, and the router that picks the handler.
//
//   consumer.routes().on("user.*", [](const envelope& e, message_context& ctx) -> awaitable<void> {...});
//   consumer.routes().on<events::ride_completed>([](const events::ride_completed& r, message_context& ctx)
//                                                  -> awaitable<void> {...});
//
// A handler fails by throwing transient_error, permanent_error or business_error
// (handler_error.hpp); anything else counts as transient.
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/producer_record.hpp>
#include <txova/kafka/record.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/router.hpp>
#include <txova/kafka/timestamp.hpp>

#include <txova/kafka/detail/json_text.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka {

/// What a handler knows besides the envelope: where the record came from and which attempt this
/// is, and the chain it belongs to (so follow-up events carry the causation).
class message_context {
public:
  /// Refers to `r`, `group` and `e`, which must outlive it (the consumer's own, for the handler
  /// call): a context costs no copies per record.
  message_context(const consumed_record& r, const std::string& group, const envelope& e, int attempt)
      : record_(&r), group_(&group), envelope_(&e), attempt_(attempt) {}
  message_context(const consumed_record&, std::string&&, const envelope&, int) = delete;  // would dangle

  std::string_view topic() const noexcept { return record_->topic(); }
  std::int32_t partition() const noexcept { return record_->partition(); }
  std::int64_t offset() const noexcept { return record_->offset(); }
  std::string_view key() const noexcept { return record_->key(); }
  std::vector<std::pair<std::string, std::string>> headers() const { return record_->headers(); }
  std::optional<std::string> header(std::string_view name) const { return record_->header(name); }
  /// 1 on the first try, 2 on the first retry, ...
  int attempt() const noexcept { return attempt_; }
  const std::string& correlation_id() const noexcept { return envelope_->correlation_id; }
  /// The envelope's id, type and version (for typed handlers, which get only the payload).
  const std::string& event_id() const noexcept { return envelope_->id; }
  const std::string& event_type() const noexcept { return envelope_->type; }
  const std::string& event_version() const noexcept { return envelope_->version; }
  const std::string& consumer_group() const noexcept { return *group_; }
  /// The context of an event this one causes: same correlation id, causation = this event's id,
  /// and the trace continued (same trace id, a new span id, trace()'s span as its parent).
  event_context follow_up(std::string_view source) const;

  /// The trace the handler continues: under a tracing middleware its `process` span, else
  /// record_trace().
  const std::optional<trace_context>& trace() const { return span_trace_ ? span_trace_ : record_trace(); }
  /// The trace the record carries in its traceparent/tracestate headers (read on the first call;
  /// a malformed traceparent is ignored and counted in stats().malformed_traceparents).
  const std::optional<trace_context>& record_trace() const;
  /// Makes `t` the trace (a tracing middleware's span): follow-up events become its children.
  void set_trace(const trace_context& t) { span_trace_ = t; }
  /// Where trace() counts a malformed traceparent (the consumer's counter).
  void count_malformed_traces_in(std::atomic<std::uint64_t>* counter) noexcept { malformed_traces_ = counter; }

  void set_attempt(int a) noexcept { attempt_ = a; }

  /// Values middleware hand to the handler and to the middleware inside them (a trace context,
  /// a tenant); set again, a name is replaced.
  void set_attribute(std::string_view name, std::string_view value) { detail::set_header(attributes_, name, value); }
  std::optional<std::string_view> attribute(std::string_view name) const noexcept {
    for (const auto& [k, v] : attributes_)
      if (k == name) return std::string_view(v);
    return std::nullopt;
  }

private:
  const consumed_record* record_;
  const std::string* group_;
  const envelope* envelope_;
  int attempt_;
  std::vector<std::pair<std::string, std::string>> attributes_{};
  mutable std::optional<trace_context> record_trace_{};
  mutable bool record_trace_read_ = false;
  std::optional<trace_context> span_trace_{};
  std::atomic<std::uint64_t>* malformed_traces_ = nullptr;
};

/// A handler coroutine.
using message_handler = std::function<boost::asio::awaitable<void>(const envelope&, message_context&)>;

namespace detail {
// The consumer has read the envelope (its payload passed the strict checks then), so the payload
// is parsed once more without them, into an arena on the stack, and decoded.
template <class Event>
boost::system::result<Event, diagnostic> decode_accepted_payload(const envelope& e) {
  unsigned char arena[4096];
  boost::json::monotonic_resource mr(arena, sizeof arena);
  auto v = parse_accepted(e.payload, "payload", &mr);
  if (!v) return v.error();
  return from_json_value<Event>(*v);
}

template <class Event, class Handler>
boost::asio::awaitable<void> call_typed(const Handler& h, const envelope& e, message_context& ctx) {
  auto payload = decode_accepted_payload<Event>(e);
  if (!payload) throw diagnostic_error(payload.error());  // permanent: the payload will not decode next time either
  co_await h(*payload, ctx);
}
}  // namespace detail

/// What happens to an envelope no route matches.
enum class unrouted_policy {
  log_and_commit,  ///< logged at warn, committed, counted as skipped
  dead_letter,     ///< written to the DLQ with the reason
};

/// The consumer's routes: basic_router over handler coroutines, with typed routes and a fallback.
/// on() throws diagnostic_error when a route cannot be added (a bad pattern, a duplicate, the
/// consumer already running); try_on() returns that diagnostic instead.
class router : public basic_router<message_handler> {
public:
  using basic_router<message_handler>::try_on;

  router& on(std::string_view pattern, message_handler handler) {
    basic_router<message_handler>::on(pattern, std::move(handler));
    return *this;
  }
  router& on(std::string_view pattern, unsigned major, message_handler handler) {
    basic_router<message_handler>::on(pattern, major, std::move(handler));
    return *this;
  }

  /// Routes `Event`'s type (all versions of its major version) to a handler receiving the
  /// decoded payload; a payload that does not decode goes to the DLQ with the reason.
  template <event Event, class Handler>
  router& on(Handler handler) {
    if (diagnostic d = try_on<Event>(std::move(handler))) throw diagnostic_error(std::move(d));
    return *this;
  }
  template <event Event, class Handler>
  [[nodiscard]] diagnostic try_on(Handler handler) {
    const auto major = major_version(Event::info.version);
    message_handler h = [h = std::move(handler)](const envelope& e, message_context& ctx) {
      return detail::call_typed<Event>(h, e, ctx);
    };
    return major ? basic_router<message_handler>::try_on(Event::info.type, *major, std::move(h))
                 : basic_router<message_handler>::try_on(Event::info.type, std::move(h));
  }

  /// The handler for envelopes no route matches (instead of the policy).
  void fallback(message_handler h) {
    if (frozen()) throw diagnostic_error(frozen_error("the fallback was not set"));
    fallback_ = std::move(h);
  }
  void fallback(unrouted_policy p) {
    if (frozen()) throw diagnostic_error(frozen_error("the unrouted policy was not set"));
    fallback_ = nullptr;
    policy_ = p;
  }
  const message_handler* fallback_handler() const noexcept { return fallback_ ? &fallback_ : nullptr; }
  unrouted_policy policy() const noexcept { return policy_; }

private:
  message_handler fallback_;
  unrouted_policy policy_ = unrouted_policy::log_and_commit;
};

}  // namespace txova::kafka
