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
#include <txova/kafka/delivery.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/timestamp.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
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

private:
  detail::publish_fields* f_;
};

/// The rest of a producer's chain: the next middleware, or the publish itself. Call it once.
using publish_next = std::function<boost::asio::awaitable<publish_result>()>;
using producer_middleware = std::function<boost::asio::awaitable<publish_result>(publish_call&, publish_next)>;

class message_context;
/// The rest of a consumer's chain: the next middleware, or the handler. Each attempt (retries
/// included) runs the whole chain.
using handler_next = std::function<boost::asio::awaitable<void>()>;
using consumer_middleware = std::function<boost::asio::awaitable<void>(const envelope&, message_context&, handler_next)>;

}  // namespace txova::kafka
