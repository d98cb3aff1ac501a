#pragma once
// Request-reply over Kafka (docs/request-reply.md).
//
// A requester publishes a request envelope with two headers naming where it reads replies
// (reply-to-topic, reply-to-partition) and completes when the reply arrives there:
//
//   consumer replies(ex, reply_consumer_config(base, "txova.replies.v1", instance_partition));
//   requester req(ex, producer, replies, {.reply_topic = "txova.replies.v1", .reply_partition = instance_partition});
//   replies.async_run(detached);
//   envelope reply = co_await req.async_request(request, 5s);
//
// A responder is a route whose handler returns the reply; it is published to the request's
// reply-to with the request's correlation id and causation = the request's id:
//
//   respond(consumer.routes(), "quote.requested", producer,
//           [](const envelope& req, message_context&) -> awaitable<envelope> { ... });
//
// Replies are matched by the request's id (the reply's causation id, which must carry the
// request's correlation id too), in O(1), so a reply can never complete another caller's request.
// A reply that comes after its request ended (timeout, cancellation) is dropped and counted as
// late; one no request of this requester had is counted as unmatched.
#include <txova/kafka/catalog.hpp>
#include <txova/kafka/config.hpp>
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/detail/default_token.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/handler.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace txova::kafka {

namespace reply_headers {
inline constexpr std::string_view topic = "reply-to-topic";
inline constexpr std::string_view partition = "reply-to-partition";
}  // namespace reply_headers

struct requester_config {
  std::string reply_topic{};         ///< where this requester reads its replies
  std::int32_t reply_partition = 0;  ///< its partition of reply_topic (a shared topic: one per instance)
  std::chrono::milliseconds default_timeout{10000};  ///< async_request without a timeout
  std::size_t max_pending = 100000;  ///< requests in flight beyond this complete with error::queue_full
  std::size_t remembered = 10000;    ///< ended requests remembered to tell late replies from unmatched ones
  std::string request_topic{};       ///< where requests go; empty: the producer's routing of their type
  /// Partition keys of request types; a type it does not have is keyed by its correlation id.
  const catalog* event_catalog = &txova_catalog();
};

struct requester_stats {
  std::uint64_t sent = 0;       ///< requests published
  std::uint64_t answered = 0;   ///< completed with their reply
  std::uint64_t timed_out = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t failed = 0;     ///< the request could not be published
  std::uint64_t late = 0;       ///< replies whose request had already ended: dropped
  std::uint64_t unmatched = 0;  ///< replies to no request of this requester: dropped
  std::size_t pending = 0;
};

/// `base` (brokers, security) made into the consumer a requester reads replies with: only
/// `partition` of `topic`, by manual assignment (no group join), from the end, nothing committed.
consumer_config reply_consumer_config(consumer_config base, std::string topic, std::int32_t partition);

/// True for the error reply a responder sends when its handler failed (type "<request type>_failed", e.g. "quote.requested_failed").
bool is_failure_reply(const envelope& reply) noexcept;
/// The reason a failure reply carries ("" for other envelopes).
std::string failure_reason(const envelope& reply);

namespace detail {
class requester_core;
using reply_handler = boost::asio::any_completion_handler<void(boost::system::error_code, envelope)>;
std::shared_ptr<requester_core> make_requester_core(boost::asio::any_io_executor ex, basic_producer<>& requests,
                                                    router& replies, requester_config cfg);
void start_request(const std::shared_ptr<requester_core>& core, envelope request, std::chrono::milliseconds timeout,
                   reply_handler h);
requester_stats stats(const requester_core& core);
void close(requester_core& core) noexcept;
}  // namespace detail

template <class Executor = boost::asio::any_io_executor>
class basic_requester {
public:
  using executor_type = Executor;
  using default_token = detail::default_token_t<Executor>;

  /// Publishes with `requests`; reads replies through `replies`, whose routes it takes over (a
  /// fallback route: give it a consumer of its own, made with reply_consumer_config, and run it).
  basic_requester(Executor ex, basic_producer<>& requests, basic_consumer<>& replies, requester_config cfg)
      : ex_(std::move(ex)), core_(detail::make_requester_core(ex_, requests, replies.routes(), std::move(cfg))) {}
  /// Pending requests complete with error::closed.
  ~basic_requester() {
    if (core_) detail::close(*core_);
  }
  basic_requester(basic_requester&&) noexcept = default;
  basic_requester& operator=(basic_requester&&) = delete;

  executor_type get_executor() const noexcept { return ex_; }

  /// Publishes `request` and completes with (error_code, reply): error::timed_out after `timeout`,
  /// operation_aborted when cancelled (the pending entry is removed either way), the publish's
  /// error when it could not be sent. A responder's failure is a reply (is_failure_reply).
  template <boost::asio::completion_token_for<void(boost::system::error_code, envelope)> Token = default_token>
  auto async_request(envelope request, std::chrono::milliseconds timeout, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, envelope)>(
        [core = core_](auto handler, envelope r, std::chrono::milliseconds t) {
          detail::start_request(core, std::move(r), t, std::move(handler));
        },
        token, std::move(request), timeout);
  }
  template <boost::asio::completion_token_for<void(boost::system::error_code, envelope)> Token = default_token>
  auto async_request(envelope request, Token&& token = {}) {
    return async_request(std::move(request), std::chrono::milliseconds(-1), std::forward<Token>(token));
  }

  requester_stats stats() const { return detail::stats(*core_); }

private:
  Executor ex_;
  std::shared_ptr<detail::requester_core> core_;
};
using requester = basic_requester<>;

struct responder_options {
  int max_retries = 3;          ///< the consumer's: a failure reply goes out after the last attempt
  std::string source = "responder";  ///< the source of failure replies
};

/// What a responder's handler returns: the reply (its correlation and causation ids are set for it).
using reply_function = std::function<boost::asio::awaitable<envelope>(const envelope& request, message_context& ctx)>;

/// Routes `pattern` to `f` and publishes what it returns to the request's reply-to, on `replies`.
/// When `f` fails for good (a permanent or business error, or a transient one on its last attempt)
/// a failure reply "<request type>_failed" with the reason goes out first; then the consumer does
/// what it does with the failure (DLQ, skip). A request without reply-to headers is dead-lettered.
void respond(router& routes, std::string_view pattern, basic_producer<>& replies, reply_function f,
             responder_options options = {});

}  // namespace txova::kafka
