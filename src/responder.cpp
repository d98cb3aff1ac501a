// The responder of request-reply (request_reply.hpp): a route that publishes its handler's reply
// to the request's reply-to, and a failure reply when the handler fails for good.
#include <txova/kafka/request_reply.hpp>

#include <txova/kafka/handler_error.hpp>

#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace txova::kafka {

namespace asio = boost::asio;

namespace {

// "<request type>_failed": the issue asked for "<type>.failed", but an envelope type is exactly
// two segments (domain.action), which the producer enforces, so the suffix joins the action.
constexpr std::string_view failed_suffix = "_failed";

struct reply_to {
  std::string topic;
  std::int32_t partition = -1;
};

reply_to reply_address(const envelope& request, const message_context& ctx) {
  const auto topic = ctx.header(reply_headers::topic);
  if (!topic || topic->empty())
    throw permanent_error("request " + request.id + " (" + request.type + ") has no " + std::string(reply_headers::topic) +
                          " header: there is nowhere to reply");
  reply_to r{*topic, -1};
  if (const auto p = ctx.header(reply_headers::partition)) {
    std::int32_t n = -1;
    const auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), n);
    if (ec != std::errc() || end != p->data() + p->size() || n < 0)
      throw permanent_error("request " + request.id + " has " + std::string(reply_headers::partition) + " \"" + *p +
                            "\", not a partition number");
    r.partition = n;
  }
  return r;
}

asio::awaitable<void> publish_reply(basic_producer<>& replies, envelope reply, const envelope& request, const reply_to& to) {
  reply.correlation_id = request.correlation_id;
  reply.causation_id = request.id;
  publish_options opts;
  opts.topic = to.topic;
  if (to.partition >= 0) opts.partition = to.partition;
  opts.key = request.correlation_id;
  // Throws when it cannot be published: the consumer retries the request.
  co_await replies.async_publish(reply, std::move(opts), asio::use_awaitable);
}

envelope failure_reply(const envelope& request, const classified_failure& f, const responder_options& o) {
  boost::json::object payload;
  payload["reason"] = f.message;
  payload["error_type"] = f.kind == handler_failure::business ? "business" : f.kind == handler_failure::permanent ? "permanent" : "transient";
  payload["request_id"] = request.id;
  return make_envelope(request.type + std::string(failed_suffix), "1.0", boost::json::serialize(payload),
                       event_context::caused_by(request, o.source));
}

asio::awaitable<void> answer(basic_producer<>& replies, const reply_function& f, const responder_options& o,
                             const envelope& request, message_context& ctx) {
  const reply_to to = reply_address(request, ctx);
  std::exception_ptr failure;
  envelope reply;
  try {
    reply = co_await f(request, ctx);
  } catch (...) {
    failure = std::current_exception();
  }
  if (!failure) {
    co_await publish_reply(replies, std::move(reply), request, to);
    co_return;
  }
  const classified_failure c = classify_handler_failure(failure);
  const bool last = c.kind != handler_failure::transient || ctx.attempt() > o.max_retries;
  if (last) co_await publish_reply(replies, failure_reply(request, c, o), request, to);  // then the usual DLQ or skip
  std::rethrow_exception(failure);
}

}  // namespace

bool is_failure_reply(const envelope& reply) noexcept { return reply.type.ends_with(failed_suffix); }

std::string failure_reason(const envelope& reply) {
  if (!is_failure_reply(reply)) return {};
  boost::system::error_code ec;
  const auto v = boost::json::parse(reply.payload, ec);
  if (ec || !v.is_object()) return {};
  const auto* r = v.as_object().if_contains("reason");
  return r && r->is_string() ? std::string(r->as_string()) : std::string();
}

void respond(router& routes, std::string_view pattern, basic_producer<>& replies, reply_function f, responder_options options) {
  routes.on(pattern, [&replies, f = std::move(f), options = std::move(options)](const envelope& e, message_context& ctx) {
    return answer(replies, f, options, e, ctx);
  });
}

}  // namespace txova::kafka
