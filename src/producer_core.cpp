// The publish path of producer_core: submit, the publish_fsm's actions, delivery
// reports, room in librdkafka's queue, cancellation. See producer_core.hpp.
#include "producer_core.hpp"

#include <txova/kafka/cloudevents.hpp>
#include <txova/kafka/detail/publish_check.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/logging_middleware.hpp>
#include <txova/kafka/tracing.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/throw_exception.hpp>
#include <librdkafka/rdkafka.h>  // error codes only: the port does the calls
#include <spdlog/spdlog.h>

#include <algorithm>

namespace txova::kafka::detail {

using boost::system::error_code;

producer_core::producer_core(boost::asio::any_io_executor ex, boost::asio::strand<boost::asio::any_io_executor> strand,
                             producer_config cfg, std::unique_ptr<producer_port> port)
    : strand_(std::move(strand)), ex_(strand_), cfg_(std::move(cfg)),
      routes_(cfg_.event_catalog ? *cfg_.event_catalog : txova_catalog()), completions_(ex_, std::move(ex)),
      port_(std::move(port)) {
  if (auto d = cfg_.validate()) boost::throw_exception(diagnostic_error(d));
  if (cfg_.routes) routes_ = *cfg_.routes;
  policy_.retries = cfg_.retries;
  policy_.backoff = backoff_policy{cfg_.retry_backoff, cfg_.retry_backoff_max};
  policy_.resend_possibly_persisted = cfg_.resend_possibly_persisted;
  // The config's middleware come first, outermost: a span covers what the user's add.
  if (cfg_.tracer) use(producer_tracing(cfg_.tracer));
  if (cfg_.logging.each_message) use(producer_logging(cfg_.logging));
  port_->start(*this);
}

producer_core::~producer_core() { destroy(); }

// ---- submit ----------------------------------------------------------------------------------

void producer_core::publish(prepared_ptr p, publish_handler h) {
  if (has_observers_.load(std::memory_order_relaxed) && !p->raw && !p->error) begin_observers(*p);
  if (through_middleware(*p)) return publish_through(std::move(p), std::move(h), false);
  on_strand([self = shared_from_this(), p = std::move(p), h = std::move(h)]() mutable {
    self->publish_now(std::move(p), std::move(h), false);
  });
}

error_code producer_core::publish_detached(prepared_ptr p, publish_handler h) {
  // Decided here, on the caller's thread: at most max_detached_waiting detached publishes wait
  // to be taken by librdkafka (on their way to the strand, or waiting for room in its queue).
  error_code refused = p->error.code;
  if (!refused && detached_waiting_.fetch_add(1) >= cfg_.max_detached_waiting) {
    --detached_waiting_;
    refused = make_error_code(error::queue_full);
    ++stats_.rejected;
    p->error = make_diagnostic(error::queue_full, "",
                               std::to_string(cfg_.max_detached_waiting) +
                                   " detached publishes already wait for room in librdkafka's queue (max_detached_waiting)");
  } else if (!refused) {
    p->counted = true;
  }
  if (!refused && has_observers_.load(std::memory_order_relaxed) && !p->raw) begin_observers(*p);
  if (!refused && through_middleware(*p)) {
    publish_through(std::move(p), std::move(h), true);
    return refused;
  }
  on_strand([self = shared_from_this(), p = std::move(p), h = std::move(h)]() mutable {
    self->publish_now(std::move(p), std::move(h), true);
  });
  return refused;
}

void producer_core::publish_now(prepared_ptr p, publish_handler h, bool detached) {
  const diagnostic error = std::move(p->error);
  const bool counted = p->counted;
  op_ptr op = make_op(std::move(h), std::move(*p));
  op->detached = detached;
  op->counted_waiting = counted;
  if (error) return fail_now(op, error.code, error.message);
  submit(op);
}

void producer_core::submit(op_ptr op) {
  if (closing_) return fail_now(op, make_error_code(error::closed), "the producer is closed");
  if (!fatal_.empty()) return fail_now(op, make_error_code(error::fatal), fatal_);
  if (const diagnostic* refused = recent_security_failure()) return fail_now(op, refused->code, refused->message);
  connect_cancellation(op);
  apply(op, op->fsm.start());
}

void producer_core::fail_now(op_ptr op, error_code ec, const std::string& message) {
  ++stats_.failed;
  log_failure(*op, "not published", message);
  publish_result r{ec, delivery{op->topic, -1, -1, {}, 0, {}, message, op->id}};
  if (op->observers) end_observers(publish_call(*op), *op, r);
  if (op->handler) {
    --in_flight_;
    completions_.complete(std::move(op->handler), r.ec, std::move(r.result));
  }
  forget(op);
}

// ---- the state machine's actions ---------------------------------------------------------------

void producer_core::apply(op_ptr op, const publish_fsm::action& a) {
  if (a.retried) ++stats_.retried;
  if (a.leave_room_queue && op->waiting_for_room) {
    room_waiters_.erase(std::find(room_waiters_.begin(), room_waiters_.end(), op));
    --waiting_;
    op->waiting_for_room = false;
  }
  if (a.cancel_backoff && op->timer) op->timer->cancel();  // its handler still runs and then forgets the op
  if (a.answer) answer(op);
  switch (a.next) {
    case publish_fsm::step::produce: produce(op); break;
    case publish_fsm::step::wait_for_room:
      op->waiting_for_room = true;
      room_waiters_.push_back(op);
      ++waiting_;
      break;
    case publish_fsm::step::start_backoff: start_backoff(op, a.delay); break;
    case publish_fsm::step::none: break;
  }
  if (a.finished) finished(op);
  update_activity();
}

void producer_core::produce(op_ptr op) {
  // In order behind earlier waiters: a later publish must not take the room they wait for.
  if (!room_waiters_.empty()) return apply(op, op->fsm.produced(produce_result::queue_full));
  error_code ec;
  std::string text;
  const auto r = send(op, ec, text);
  handle_send(op, r, ec, std::move(text));
}

producer_port::outcome producer_core::send(op_ptr op, error_code& ec, std::string& text) {
  const bool to_dlq = op->fsm.sending_to() == publish_fsm::target::dead_letter;
  if (to_dlq && !op->dead_letter) build_dead_letter(*op);
  header_views_.clear();
  outgoing_message m;
  m.opaque = op;
  if (to_dlq) {
    const producer_record& d = *op->dead_letter;
    m.topic = d.topic;
    if (d.key) m.key = *d.key;
    m.value = *d.value;
    for (const auto& [k, v] : d.headers) header_views_.emplace_back(k, v);
  } else {
    m.topic = op->topic;
    if (op->has_key) m.key = op->key;
    if (op->has_value) m.value = op->value;
    if (op->partition) m.partition = *op->partition;
    if (!op->raw) {
      header_scratch_.clear();  // reused: no allocation per message
      append_timestamp(header_scratch_, op->time);
      header_views_.insert(header_views_.end(), {{"event-id", op->id},
                                                 {"event-type", op->type},
                                                 {"correlation-id", op->correlation_id},
                                                 {"schema-version", op->version},
                                                 {"source", op->source},
                                                 {"timestamp", header_scratch_}});
    }
    for (const auto& [k, v] : op->headers) header_views_.emplace_back(k, v);
  }
  m.headers = header_views_;
  return port_->produce(m, ec, text);
}

void producer_core::handle_send(op_ptr op, producer_port::outcome r, error_code ec, std::string text) {
  switch (r) {
    case producer_port::outcome::accepted:
      op->in_librdkafka = true;
      uncount_waiting(*op);
      return apply(op, op->fsm.produced(produce_result::accepted));
    case producer_port::outcome::queue_full:
      if (port_->queue_depth() == 0 && room_waiters_.empty()) {
        // Full while empty: the message alone exceeds the queue's byte limit. No report will
        // ever make room, so waiting would wedge every later publish.
        const bool to_dlq = op->fsm.sending_to() == publish_fsm::target::dead_letter;
        const std::size_t bytes = to_dlq ? op->dead_letter->value->size() : op->value.size();
        return apply(op, op->fsm.produced(produce_result::never_fits, make_error_code(error::too_large),
                                          "event of " + std::to_string(bytes) +
                                              " bytes does not fit librdkafka's queue even when it is empty "
                                              "(max_queued_kbytes " + std::to_string(cfg_.max_queued_kbytes) + ")"));
      }
      return apply(op, op->fsm.produced(produce_result::queue_full));
    case producer_port::outcome::refused:
      // Refused before sending (unknown partition, bad topic name, ...): a delivery failure.
      text += " (topic \"" + current_topic(*op) + "\")";
      return apply(op, op->fsm.failed(ec, text, persistence::not_persisted, dead_letter_possible(ec, *op)));
  }
}

void producer_core::retry_room_waiters() {
  while (!room_waiters_.empty()) {
    op_ptr op = room_waiters_.front();
    error_code ec;
    std::string text;
    const auto r = send(op, ec, text);
    if (r == producer_port::outcome::queue_full) return;  // still first in line
    room_waiters_.pop_front();
    --waiting_;
    op->waiting_for_room = false;
    handle_send(op, r, ec, std::move(text));
  }
}

void producer_core::start_backoff(op_ptr op, std::chrono::milliseconds delay) {
  logger()->warn("txova producer {}: {} {} (correlation {}) attempt {} failed: {}; retrying in {} ms", cfg_.client_id,
                 op->raw ? "record for topic" : "event", op->raw ? op->topic : op->id,
                 op->correlation_id.empty() ? "-" : op->correlation_id, op->fsm.attempts(), op->fsm.failure_text(),
                 delay.count());
  if (!op->timer) op->timer = std::make_unique<boost::asio::steady_timer>(ex_);
  op->timer->expires_after(delay);
  op->timer_pending = true;
  op->timer->async_wait([this, op, weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!self || destroyed_) return;  // destroy() dropped every op
    op->timer_pending = false;
    if (ec || op->fsm.current() == publish_fsm::state::done) return forget(op);
    apply(op, op->fsm.backoff_elapsed());
  });
}

// ---- delivery reports --------------------------------------------------------------------------

void producer_core::on_delivery(const delivery_report& r) {
  auto* op = static_cast<op_ptr>(r.opaque);
  if (!op) return;
  op->in_librdkafka = false;
  const bool to_dlq = op->fsm.sending_to() == publish_fsm::target::dead_letter;
  if (!r.ec) {
    security_failure_.reset();  // a broker took it: the connection works
    delivered_once_ = true;
    if (!to_dlq) {
      op->partition_stored = r.partition;
      op->offset_stored = r.offset;
      op->timestamp_ms = r.timestamp_ms;
    }
    return apply(op, op->fsm.delivered());
  }
  const timestamp now = now_utc();
  if (!to_dlq) {
    if (op->first_failure == timestamp{}) op->first_failure = now;
    op->last_failure = now;
  }
  std::string text = std::string(r.error_text) + " (topic \"" + current_topic(*op) + "\")";
  // Purged because the brokers refused us: the reason is the refusal, and the DLQ is no way out.
  if (r.ec == make_rdkafka_error(RD_KAFKA_RESP_ERR__PURGE_QUEUE) && security_failure_ && !closing_)
    return apply(op, op->fsm.failed(security_failure_->code, security_failure_->message + " (topic \"" + current_topic(*op) + "\")",
                                    r.status, false));
  apply(op, op->fsm.failed(r.ec, text, r.status, dead_letter_possible(r.ec, *op)));
}

void producer_core::on_room() {
  if (!room_waiters_.empty()) retry_room_waiters();
  update_activity();
}

bool producer_core::dead_letter_possible(const error_code& ec, const publish_op& op) const {
  // An invalid topic name makes "<name>.dlq" invalid too (the broker may say so, or librdkafka
  // may only find the topic unknown first); a fatal client writes nothing more.
  return fatal_.empty() && ec != make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION) &&
         ec != make_rdkafka_error(RD_KAFKA_RESP_ERR__FATAL) &&
         is_legal_topic_name(cfg_.dead_letter_topic.topic_for(op.topic));
}

void producer_core::build_dead_letter(publish_op& op) {
  dead_letter d;
  d.original_topic = op.topic;
  d.original_key = op.key;
  d.original_value = op.value;
  d.error_message = op.fsm.failure_text();
  d.attempt_count = op.fsm.attempts();
  d.first_failure = op.first_failure;
  d.last_failure = op.last_failure;
  op.dead_letter = dead_letter_record(d, cfg_.dead_letter_topic.topic_for(op.topic), {}, cfg_.max_message_bytes * 2 + 4096);
  // The envelope's own headers travel with its dead letter, as a consumer's dead letters keep them.
  header_scratch_.clear();
  append_timestamp(header_scratch_, op.time);
  for (auto [k, v] : std::initializer_list<std::pair<const char*, const std::string*>>{
           {"event-id", &op.id}, {"event-type", &op.type}, {"correlation-id", &op.correlation_id},
           {"schema-version", &op.version}, {"source", &op.source}, {"timestamp", &header_scratch_}})
    op.dead_letter->headers.emplace_back(k, *v);
  for (const auto& h : op.headers) op.dead_letter->headers.push_back(h);  // the caller's headers too
}

// ---- cancellation and answers ------------------------------------------------------------------

void producer_core::connect_cancellation(op_ptr op) {
  auto slot = boost::asio::get_associated_cancellation_slot(op->handler);
  if (!slot.is_connected()) return;
  slot.assign([this, op, weak = weak_from_this()](boost::asio::cancellation_type type) {
    if (!(type & (boost::asio::cancellation_type::terminal | boost::asio::cancellation_type::partial))) return;
    auto self = weak.lock();
    if (!self || destroyed_ || !op->handler) return;
    if (op->fsm.current() != publish_fsm::state::in_flight) ++stats_.cancelled;
    apply(op, op->fsm.cancel());
  });
}

void producer_core::answer(op_ptr op) {
  if (!op->handler && !op->observers) return;
  const publish_outcome& o = op->fsm.answer();
  publish_result r{o.ec, delivery{op->topic, -1, -1, {}, op->fsm.attempts(), {}, o.message, op->id}};
  delivery& d = r.result;
  if (o.delivered) {
    d.partition = op->partition_stored;
    d.offset = op->offset_stored;
    if (op->timestamp_ms >= 0) d.broker_time = timestamp(std::chrono::milliseconds(op->timestamp_ms));
  }
  if (o.dead_lettered) d.dead_letter_topic = op->dead_letter->topic;
  if (op->observers) end_observers(publish_call(*op), *op, r);
  if (!op->handler) return;
  --in_flight_;
  completions_.complete(std::move(op->handler), r.ec, std::move(d));
}

void producer_core::finished(op_ptr op) {
  const publish_outcome& o = op->fsm.final();
  const bool caller_gone = op->fsm.answered_early();  // cancelled in flight (or a fatal error answered it)
  if (o.delivered) {
    ++stats_.sent;
  } else if (o.ec == boost::asio::error::operation_aborted) {
    logger()->info("txova producer {}: event {} (correlation {}) {}", cfg_.client_id, op->id.empty() ? "?" : op->id,
                   op->correlation_id.empty() ? "?" : op->correlation_id, o.message);
  } else {
    ++stats_.failed;
    if (caller_gone) ++stats_.failed_after_cancel;
    if (o.dead_lettered) {
      ++stats_.dead_lettered;
      log_failure(*op, "not delivered after " + std::to_string(op->fsm.attempts()) + " attempt(s)",
                  o.message + "; written to " + op->dead_letter->topic + (caller_gone ? " (its publish had been cancelled)" : ""));
    } else {
      log_failure(*op, caller_gone ? "not delivered (its publish had been cancelled)" : "not delivered", o.message);
    }
    if (op->fsm.closing()) close_report_.undelivered.push_back({op->id, op->topic, o.message});
  }
  forget(op);
}

// A detached publish stops counting against max_detached_waiting once librdkafka took it or it ended.
void producer_core::uncount_waiting(publish_op& op) {
  if (!op.counted_waiting) return;
  op.counted_waiting = false;
  --detached_waiting_;
}

std::string producer_core::current_topic(const publish_op& op) const {
  return op.fsm.sending_to() == publish_fsm::target::dead_letter && op.dead_letter ? op.dead_letter->topic : op.topic;
}

// A publish that failed for good: logged once, with everything an operator searches by.
void producer_core::log_failure(const publish_op& op, std::string_view what, const std::string& why) const {
  const auto level = static_cast<spdlog::level::level_enum>(spdlog_level(cfg_.logging.failed));
  auto l = logger();
  if (!l->should_log(level)) return;
  if (op.raw)
    return l->log(level, "txova producer {}: record for topic {} (key \"{}\") {}: {}", cfg_.client_id, op.topic, op.key, what, why);
  // The fsm's texts may say "not delivered (...)" themselves: said once.
  constexpr std::string_view said = "not delivered";
  if (what.starts_with(said) && std::string_view(why).starts_with(said)) {
    what.remove_prefix(said.size());
    return l->log(level, "txova producer {}: event {} (type {}, correlation {}, topic {}) {}{}", cfg_.client_id,
                  op.id.empty() ? "?" : op.id, op.type.empty() ? "?" : op.type,
                  op.correlation_id.empty() ? "?" : op.correlation_id, op.topic, why, what);
  }
  l->log(level, "txova producer {}: event {} (type {}, correlation {}, topic {}) {}: {}", cfg_.client_id,
         op.id.empty() ? "?" : op.id, op.type.empty() ? "?" : op.type, op.correlation_id.empty() ? "?" : op.correlation_id,
         op.topic, what, why);
}

}  // namespace txova::kafka::detail
