// consumer_core's record path: what the port fetched, the partitions' workers (their strands),
// one record's handling (poison checks, routing, attempts, the handler deadline, retries).
#include "consumer_core.hpp"

#include <txova/kafka/cloudevents.hpp>
#include <txova/kafka/log.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

namespace txova::kafka::detail {

namespace asio = boost::asio;
using boost::system::error_code;

partition_state* consumer_core::find(std::string_view topic, std::int32_t partition) {
  if (last_found_ && last_found_->partition == partition && last_found_->topic == topic) return last_found_;
  for (auto& p : partitions_)
    if (p->partition == partition && p->topic == topic) return last_found_ = p.get();
  return nullptr;
}

void consumer_core::on_record(consumed_record r) {
  partition_state* p = find(r.topic(), r.partition());
  // Not (or no longer) ours, or stopping: dropped undone, so never committed; its next owner
  // (or our next run) reads it again.
  if (!p || stopping_) return;
  brokers_down_ = false;  // records flow: a broker answered
  if (!p->fetch_error.empty()) {
    logger()->info("consumer {}: {}[{}] fetches again", group_, p->topic, p->partition);
    p->fetch_error.clear();
  }
  partition_fsm::action a;
  if (!p->fsm.fetched(r.offset(), a)) return;
  ++stats_.received;
  ++in_flight_;
  perform(*p, a);
  const bool was_empty = buffer_.empty();
  buffer_.emplace_back(p, std::move(r));
  if (!dispatcher_) hand_out();
  else if (was_empty) dispatch_wake_.cancel();  // a non-empty buffer is already being dispatched
}

void consumer_core::record_done(partition_state& p, std::int64_t offset) {
  const std::size_t before = p.fsm.tracker().in_progress();
  ++p.finished;
  const auto a = p.fsm.done(offset);
  in_flight_ -= before - p.fsm.tracker().in_progress();
  perform(p, a);
}
void consumer_core::record_abandoned(partition_state& p) { perform(p, p.fsm.abandoned()); }

// ---- workers -------------------------------------------------------------------------------

void consumer_core::start_worker(const partition_ptr& p) {
  p->worker_running = true;
  asio::co_spawn(ex_, worker(p), asio::bind_cancellation_slot(p->cancel.slot(), [self = shared_from_this(), p](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       logger()->error("consumer {}: worker of {}[{}] failed: {}; its records stay uncommitted",
                                       self->group_, p->topic, p->partition, x.what());
                     }
                   }
                   p->worker_running = false;
                   self->notify();
                 }));
}

// The partition's strand: its records, one after another.
asio::awaitable<void> consumer_core::worker(partition_ptr p) {
  auto self = shared_from_this();
  // Cancellation is aimed at the handler (timeout, forced stop); the worker itself decides
  // what a cancelled wait means, so its own awaits must not throw for it.
  co_await asio::this_coro::throw_if_cancelled(false);
  while (p->fsm.running() && !forced_) {
    if (p->queue.empty()) {
      if (stopping_) break;
      p->idle = true;
      p->wake.expires_at(consumer_clock::time_point::max());
      co_await p->wake.async_wait(asio::as_tuple(asio::use_awaitable));
      p->idle = false;
      continue;
    }
    consumed_record r = std::move(p->queue.front());
    p->queue.pop_front();
    p->fsm.started();
    bool done = false, internal_error = false;
    try {
      done = co_await process(*p, r);
    } catch (const std::exception& x) {
      // Ours, not the handler's (those are caught in handle): the record is tried again after
      // a pause, never skipped.
      logger()->error("consumer {}: internal error on {}[{}]@{}: {}; trying the record again", group_, p->topic,
                      p->partition, r.offset(), x.what());
      internal_error = true;
    }
    if (destroyed_) break;
    if (internal_error) {
      record_abandoned(*p);
      if (!co_await sleep(*p, cfg_.retry_backoff)) break;
      p->queue.push_front(std::move(r));  // still dispatched in the tracker: it is started again
      continue;
    }
    if (!done) {  // abandoned: this record and the rest stay uncommitted
      record_abandoned(*p);
      break;
    }
    record_done(*p, r.offset());
    if (probe_) probe_->finished(r, p->verdict, p->verdict_reason, p->handler_calls);
  }
  p->queue.clear();
}

// ---- one record ----------------------------------------------------------------------------

// Handles one record; true when it is done (handled, dead-lettered or skipped).
asio::awaitable<bool> consumer_core::process(partition_state& p, const consumed_record& r) {
  // The clock is read only on the paths that write a dead letter, not for every record.
  p.handler_calls = 0;
  if (r.error()) {
    const timestamp now = now_utc();
    ++stats_.poison;
    co_return co_await write_dead_letter(p, r, "librdkafka could not read the record: " + std::string(r.error_message()),
                                          1, now, now);
  }
  if (r.is_tombstone()) {
    ++stats_.tombstones;
    if (cfg_.tombstones == tombstone_policy::dead_letter) {
      const timestamp now = now_utc();
      co_return co_await write_dead_letter(p, r, "a tombstone (null value) is not an envelope", 1, now, now);
    }
    logger()->info("consumer {}: tombstone (null value) at {}[{}]@{} committed without handling", group_, p.topic,
                   p.partition, r.offset());
    note(p, consumer_probe::verdict::skipped, "a tombstone (null value), committed without handling");
    co_return true;
  }
  const std::string_view value = r.value();
  if (value.size() > cfg_.max_message_bytes) {
    ++stats_.poison;
    const timestamp now = now_utc();
    co_return co_await write_dead_letter(p, r,
                                          "record of " + std::to_string(value.size()) + " bytes is over max_message_bytes " +
                                              std::to_string(cfg_.max_message_bytes),
                                          1, now, now);
  }
  auto env = read_envelope(r);
  if (!env) {
    ++stats_.poison;
    const timestamp now = now_utc();
    co_return co_await write_dead_letter(p, r, "not a valid envelope: " + env.error().message, 1, now, now);
  }
  if (env->actor && !known_actor_type(env->actor->type)) note_actor_type(env->actor->type);
  const message_handler* handler = routes_.find(env->type, major_version(env->version));
  if (!handler) handler = routes_.fallback_handler();
  if (handler) co_return co_await handle(p, r, *env, *handler);
  const std::string why = "no route for event type \"" + env->type + "\" version \"" + env->version + "\"";
  if (routes_.policy() == unrouted_policy::dead_letter) {
    const timestamp now = now_utc();
    co_return co_await write_dead_letter(p, r, why, 1, now, now);
  }
  ++stats_.skipped;
  logger()->warn("consumer {}: {}: event {} (correlation {}) at {}[{}]@{} committed without handling", group_, why, env->id,
                 env->correlation_id, p.topic, p.partition, r.offset());
  note(p, consumer_probe::verdict::skipped, why);
  co_return true;
}

// The envelope a record carries: our JSON, or a CloudEvent in either mode of the Kafka binding
// (looked for only when the value is not an envelope, so ours cost no header lookups).
boost::system::result<envelope, diagnostic> consumer_core::read_envelope(const consumed_record& r) const {
  const envelope_limits limits{cfg_.max_message_bytes, 32, cfg_.strict};
  auto env = parse_envelope(r.value(), limits);
  if (env) return env;
  const auto mode = cloudevents::detect(r.header("content-type").value_or(""), r.header("ce_specversion").has_value());
  if (mode == cloudevents::mode::none) return env;
  auto ce = mode == cloudevents::mode::structured ? cloudevents::from_structured(r.value())
                                                  : cloudevents::from_binary(r.headers(), r.value());
  if (!ce) return ce;
  if (auto d = validate(*ce, limits)) return d;
  return ce;
}

// An actor type the standard does not name: accepted (an open enumeration), logged once per value.
void consumer_core::note_actor_type(const std::string& type) {
  ++stats_.unknown_actor_types;
  if (seen_actor_types_.size() >= 64 || !seen_actor_types_.insert(type).second) return;
  logger()->info("consumer {}: actor.type \"{}\" is not one of user, system, admin; accepted (strict = false)", group_, type);
}

void consumer_core::use(consumer_middleware mw) {
  if (ran_ || records_mode_ || started_)
    throw diagnostic_error(make_diagnostic(error::invalid_config, "middleware",
                                           "consumer " + group_ + ": use() after the consumer started; add middleware before async_run"));
  if (mw) middleware_.push_back(std::move(mw));
}

void consumer_core::use(std::shared_ptr<handler_observer> o) {
  if (ran_ || records_mode_ || started_)
    throw diagnostic_error(make_diagnostic(error::invalid_config, "middleware",
                                           "consumer " + group_ + ": use() after the consumer started; add observers before async_run"));
  if (o) observers_.push_back(std::move(o));
}

// Observers must not fail a record: what one throws is logged and dropped.
void consumer_core::observe_before(partition_state& p, const envelope& e, message_context& ctx) noexcept {
  p.scopes.resize(observers_.size());
  for (std::size_t i = 0; i < observers_.size(); ++i) {
    p.scopes[i] = observer_scope{std::chrono::steady_clock::now(), nullptr};
    try {
      observers_[i]->before(e, ctx, p.scopes[i]);
    } catch (...) {
      logger()->error("consumer {}: a handler observer's before() threw on event {}", group_, e.id);
    }
  }
}

void consumer_core::observe_after(partition_state& p, const envelope& e, message_context& ctx,
                                  const std::exception_ptr& failure) noexcept {
  for (std::size_t i = observers_.size(); i-- > 0;) {
    try {
      observers_[i]->after(e, ctx, failure, p.scopes[i]);
    } catch (...) {
      logger()->error("consumer {}: a handler observer's after() threw on event {}", group_, e.id);
    }
    p.scopes[i].data.reset();
  }
}

asio::awaitable<void> consumer_core::call_handler(const message_handler& h, const envelope& e, message_context& ctx, std::size_t i) {
  if (i == middleware_.size()) co_return co_await h(e, ctx);
  // What the next step needs, in this frame: the closure holds one pointer, which std::function
  // keeps inline (no allocation per step). Named, not a temporary: see producer_middleware.cpp.
  struct step {
    consumer_core* self;
    const message_handler* h;
    const envelope* e;
    message_context* ctx;
    std::size_t next;
  } here{this, &h, &e, &ctx, i + 1};
  handler_next next = [p = &here]() { return p->self->call_handler(*p->h, *p->e, *p->ctx, p->next); };
  co_await middleware_[i](e, ctx, std::move(next));
}

// The attempts of one handler on one envelope.
asio::awaitable<bool> consumer_core::handle(partition_state& p, const consumed_record& r, const envelope& env,
                                            const message_handler& handler) {
  message_context ctx(r, group_, env, 1);
  ctx.count_malformed_traces_in(&stats_.malformed_traceparents);
  timestamp first_failure{};
  for (int attempt = 1;; ++attempt) {
    ctx.set_attempt(attempt);
    ++p.handler_calls;
    std::exception_ptr failure;
    begin_handler(p);
    // Inside the handler a cancelled coroutine throws at its next co_await, whatever it awaits
    // (the flag belongs to the whole coroutine chain, so it is switched around the call).
    co_await asio::this_coro::throw_if_cancelled(true);
    if (!observers_.empty()) observe_before(p, env, ctx);
    try {
      if (middleware_.empty()) co_await handler(env, ctx);
      else co_await call_handler(handler, env, ctx, 0);
    } catch (...) {
      failure = std::current_exception();
    }
    if (!observers_.empty()) observe_after(p, env, ctx, failure);
    co_await asio::this_coro::throw_if_cancelled(false);
    p.handler_running = false;
    const bool timed_out = p.timed_out;
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
      co_await asio::this_coro::reset_cancellation_state();
    if (!failure) {  // a handler that finished despite the cancellation did its work
      ++stats_.handled;
      note(p, consumer_probe::verdict::handled);
      co_return true;
    }
    if (forced_) co_return false;
    ++stats_.failed;
    classified_failure f = classify_handler_failure(failure);
    if (timed_out) {
      ++stats_.timed_out;
      f = {handler_failure::transient, "handler timed out after " + std::to_string(cfg_.handler_timeout.count()) + " ms"};
    }
    if (probe_) probe_->attempt_failed(r, attempt, f.message, timed_out);
    const timestamp now = now_utc();
    if (attempt == 1) first_failure = now;
    const failure_decision d = decide(f.kind, attempt, cfg_.max_retries, backoff_, detail::unit_random());
    switch (d.step) {
      case next_step::skip:
        ++stats_.skipped;
        logger()->info("consumer {}: business error on event {} ({}, correlation {}) at {}[{}]@{}: {}; committed", group_,
                       env.id, env.type, env.correlation_id, p.topic, p.partition, r.offset(), f.message);
        note(p, consumer_probe::verdict::skipped, f.message);
        co_return true;
      case next_step::dead_letter:
        logger()->warn("consumer {}: event {} ({}, correlation {}) at {}[{}]@{} failed on attempt {}: {}; dead-lettering",
                       group_, env.id, env.type, env.correlation_id, p.topic, p.partition, r.offset(), attempt, f.message);
        co_return co_await write_dead_letter(p, r, f.message, attempt, first_failure, now);
      case next_step::retry:
        if (!p.fsm.running() || stopping_) co_return false;  // the next owner (or run) retries it
        ++stats_.retried;
        logger()->info("consumer {}: event {} ({}) at {}[{}]@{} failed on attempt {}: {}; retrying in {} ms", group_,
                       env.id, env.type, p.topic, p.partition, r.offset(), attempt, f.message, d.delay.count());
        if (!co_await sleep(p, d.delay)) co_return false;
        break;
    }
  }
}

// The handler timeout: one timer per partition, re-armed only when it fires before the
// running handler's deadline, so a stream of quick handlers costs no timer operations.
void consumer_core::begin_handler(partition_state& p) {
  p.handler_running = true;
  p.timed_out = false;
  p.deadline = consumer_clock::now() + cfg_.handler_timeout;
  if (!p.deadline_armed) arm_deadline(p);
}

void consumer_core::arm_deadline(partition_state& p) {
  p.deadline_armed = true;
  p.deadline_timer.expires_at(p.deadline);
  p.deadline_timer.async_wait([weak = p.weak_from_this()](error_code ec) {
    auto sp = weak.lock();
    if (!sp) return;
    sp->deadline_armed = false;
    if (ec || !sp->handler_running || sp->fsm.current() == partition_fsm::state::gone) return;
    if (consumer_clock::now() < sp->deadline) return arm_deadline(*sp);
    sp->timed_out = true;
    sp->cancel.emit(asio::cancellation_type::terminal);
  });
}

// Waits `delay` unless the partition is revoked or the consumer stops; true when it waited.
asio::awaitable<bool> consumer_core::sleep(partition_state& p, std::chrono::milliseconds delay) {
  if (probe_ && probe_->waits(p.topic, p.partition, delay)) {  // the test kit's virtual clock
    co_await asio::post(ex_, asio::use_awaitable);
    co_return p.fsm.running() && !stopping_;
  }
  p.retry_timer.expires_after(delay);
  auto [ec] = co_await p.retry_timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !ec && p.fsm.running() && !stopping_;
}

}  // namespace txova::kafka::detail
