// Producer middleware (middleware.hpp): a publish with middleware runs as a coroutine on the
// producer's strand, each middleware awaiting the next; the innermost step is the plain publish.
// publish_call reads the prepared publish until it is handed to librdkafka, then a copy of its
// small fields (the value is not copied), so a middleware can still read them after next().
#include "producer_core.hpp"

#include <txova/kafka/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace txova::kafka {


std::string_view publish_call::event_id() const noexcept { return f_->id; }
std::string_view publish_call::event_type() const noexcept { return f_->type; }
std::string_view publish_call::event_version() const noexcept { return f_->version; }
std::string_view publish_call::correlation_id() const noexcept { return f_->correlation_id; }
std::string_view publish_call::source() const noexcept { return f_->source; }
timestamp publish_call::time() const noexcept { return f_->time; }
std::size_t publish_call::value_size() const noexcept { return f_->value.size(); }
std::string_view publish_call::topic() const noexcept { return f_->topic; }
void publish_call::set_topic(std::string_view topic) { f_->topic.assign(topic); }
std::string_view publish_call::key() const noexcept { return f_->key; }
void publish_call::set_key(std::string_view key) {
  f_->key.assign(key);
  f_->has_key = true;
}
const std::vector<std::pair<std::string, std::string>>& publish_call::headers() const noexcept { return f_->headers; }
std::optional<std::string_view> publish_call::header(std::string_view name) const {
  for (const auto& [k, v] : f_->headers)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}
bool publish_call::set_header(std::string_view name, std::string_view value) {
  if (name.empty() || detail::is_envelope_header(name)) return false;
  detail::set_header(f_->headers, name, value);
  return true;
}
bool publish_call::remove_header(std::string_view name) {
  return std::erase_if(f_->headers, [&](const auto& h) { return h.first == name; }) > 0;
}

const std::optional<trace_context>& publish_call::trace() const noexcept { return f_->trace; }
void publish_call::set_trace(const trace_context& t) {
  f_->trace = t;
  detail::set_trace_headers(f_->headers, t);
}

namespace detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// A publish in flight keeps the list it began with: adding makes a new list (copy on write).
template <class T>
std::shared_ptr<const std::vector<T>> with_added(const std::shared_ptr<const std::vector<T>>& list, T item) {
  auto next = list ? std::make_shared<std::vector<T>>(*list) : std::make_shared<std::vector<T>>();
  next->push_back(std::move(item));
  return next;
}
}  // namespace

void producer_core::use(producer_middleware mw) {
  if (!mw) return;
  std::lock_guard lock(middleware_mutex_);
  middleware_ = with_added(middleware_, std::move(mw));
  has_middleware_ = true;
}

void producer_core::use(std::shared_ptr<publish_observer> o) {
  if (!o) return;
  std::lock_guard lock(middleware_mutex_);
  observers_ = with_added(observers_, std::move(o));
  has_observers_ = true;
}

void producer_core::begin_observers(publish_fields& f) {
  {
    std::lock_guard lock(middleware_mutex_);
    f.observers = observers_;
  }
  f.scopes.resize(f.observers->size());
  publish_call call(f);
  for (std::size_t i = 0; i < f.observers->size(); ++i) {
    f.scopes[i].started = std::chrono::steady_clock::now();
    try {
      (*f.observers)[i]->before(call, f.scopes[i]);
    } catch (const std::exception& x) {  // an observer's bug must not fail the publish
      logger()->error("txova producer {}: a publish observer's before() threw on event {}: {}", cfg_.client_id, f.id, x.what());
    } catch (...) {
      logger()->error("txova producer {}: a publish observer's before() threw on event {}", cfg_.client_id, f.id);
    }
  }
}

void producer_core::end_observers(const publish_call& call, publish_fields& f, const publish_result& r) noexcept {
  const auto observers = std::move(f.observers);  // leaves f.observers empty: after() runs once
  for (std::size_t i = observers->size(); i-- > 0;) {
    try {
      (*observers)[i]->after(call, r, f.scopes[i]);
    } catch (...) {
      logger()->error("txova producer: a publish observer's after() threw on event {}", call.event_id());
    }
  }
  f.scopes.clear();
}

bool producer_core::through_middleware(const prepared_publish& p) const noexcept {
  return has_middleware_.load(std::memory_order_relaxed) && !p.raw && !p.error;
}

// One publish's trip through the chain.
struct producer_core::middleware_chain {
  std::shared_ptr<const std::vector<producer_middleware>> chain;
  prepared_ptr prepared;
  publish_fields kept;  // what publish_call reads once `prepared` is gone to librdkafka
  publish_fields observed;  // the observers and their scopes: outside the chain
  publish_call call;
  bool detached;
  bool sent = false;
  producer_core* core;
  middleware_chain(std::shared_ptr<const std::vector<producer_middleware>> c, prepared_ptr p, bool d, producer_core* owner)
      : chain(std::move(c)), prepared(std::move(p)), call(*prepared), detached(d), core(owner) {}
};

// Step i of the chain: middleware i, or the publish itself after the last one. A static
// function: a coroutine keeps copies of its parameters, not a reference to a temporary.
// `s` is owned by publish_through's completion handler until the whole chain has finished.
asio::awaitable<publish_result> producer_core::chain_step(producer_core* core, middleware_chain* s, std::size_t i) {
  if (i < s->chain->size()) {
    // Named, not a temporary of the co_await's full expression (GCC 12 destroys those early).
    publish_next next = [s, i]() { return chain_step(s->core, s, i + 1); };  // 16 bytes: kept inline by std::function
    auto r = co_await (*s->chain)[i](s->call, std::move(next));
    co_return r;
  }
  if (s->sent) {
    co_return publish_result{make_error_code(error::internal),
                             delivery{std::string(s->call.topic()), -1, -1, {}, 0, {},
                                      "a producer middleware called next() twice", std::string(s->call.event_id())}};
  }
  s->sent = true;
  publish_fields& f = *s->prepared;
  s->kept.id = f.id, s->kept.type = f.type, s->kept.version = f.version, s->kept.correlation_id = f.correlation_id;
  s->kept.source = f.source, s->kept.time = f.time, s->kept.topic = f.topic, s->kept.key = f.key, s->kept.headers = f.headers;
  s->kept.trace = f.trace;
  s->call = publish_call(s->kept);
  auto token = asio::as_tuple(asio::use_awaitable);
  auto send = [core, s](publish_handler handler) { core->publish_now(std::move(s->prepared), std::move(handler), s->detached); };
  auto [ec, d] = co_await asio::async_initiate<decltype(token)&, void(error_code, delivery)>(std::move(send), token);
  co_return publish_result{ec, std::move(d)};
}

void producer_core::publish_through(prepared_ptr p, publish_handler h, bool detached) {
  std::shared_ptr<const std::vector<producer_middleware>> chain;
  {
    std::lock_guard lock(middleware_mutex_);
    chain = middleware_;
  }
  auto state = std::make_shared<middleware_chain>(std::move(chain), std::move(p), detached, this);
  state->observed.observers = std::move(state->prepared->observers);
  state->observed.scopes.swap(state->prepared->scopes);
  auto slot = asio::get_associated_cancellation_slot(h);
  auto self = shared_from_this();

  asio::co_spawn(strand_, chain_step(this, state.get(), 0),
                 asio::bind_cancellation_slot(slot, [self, state, h = std::move(h)](std::exception_ptr e, publish_result r) mutable {
                   if (e) {
                     std::string what = "unknown exception";
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       what = x.what();
                     } catch (...) {
                     }
                     logger()->error("txova producer {}: a middleware threw on event {} ({}): {}", self->cfg_.client_id,
                                     state->call.event_id(), state->call.event_type(), what);
                     r = publish_result{make_error_code(error::internal),
                                        delivery{std::string(state->call.topic()), -1, -1, {}, 0, {},
                                                 "a producer middleware threw: " + what, std::string(state->call.event_id())}};
                   }
                   if (state->observed.observers) end_observers(state->call, state->observed, r);
                   if (!state->sent) {  // failed by a middleware before it was sent
                     if (state->prepared && state->prepared->counted) --self->detached_waiting_;
                     if (r.ec) ++self->stats_.failed;
                   }
                   self->completions_.complete(std::move(h), r.ec, std::move(r.result));
                 }));
}

}  // namespace detail
}  // namespace txova::kafka
