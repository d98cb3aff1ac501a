// producer_core beyond the publish path: batches, flush, close, health, client errors, stats and
// destruction; and the functions producer.hpp calls.
#include "producer_core.hpp"

#include <txova/kafka/log.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/error.hpp>
#include <spdlog/spdlog.h>

namespace txova::kafka::detail {

using boost::system::error_code;
using clock = std::chrono::steady_clock;

void producer_core::publish_batch(std::vector<envelope> envelopes, batch_handler h) {
  if (!strand_.running_in_this_thread())
    return on_strand([self = shared_from_this(), es = std::move(envelopes), h = std::move(h)]() mutable {
      self->publish_batch(std::move(es), std::move(h));
    });
  struct batch_state {
    batch_handler handler;
    std::vector<publish_result> results;
    std::size_t remaining = 0;
    bool failed = false;
  };
  auto batch = std::make_shared<batch_state>();
  batch->handler.swap(h);
  batch->results.resize(envelopes.size());
  batch->remaining = envelopes.size();
  if (envelopes.empty()) return completions_.complete(std::move(batch->handler), error_code{}, std::vector<publish_result>{});

  // Validate everything first: one invalid envelope and nothing is sent.
  std::vector<prepared_ptr> prepared;
  error_code first_invalid;
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    prepared.push_back(prepare_one(envelopes[i], {}));
    if (const diagnostic& d = prepared.back()->error) {
      batch->results[i] = {d.code, delivery{prepared.back()->topic, -1, -1, {}, 0, {},
                                            "envelope " + std::to_string(i) + ": " + d.message, envelopes[i].id}};
      if (!first_invalid) first_invalid = d.code;
      ++stats_.failed;
    }
  }
  if (first_invalid) {
    for (std::size_t i = 0; i < prepared.size(); ++i)
      if (!batch->results[i].ec)
        batch->results[i] = {make_error_code(error::not_sent),
                             delivery{prepared[i]->topic, -1, -1, {}, 0, {},
                                      "not sent: another envelope of the batch is invalid", envelopes[i].id}};
    return completions_.complete(std::move(batch->handler), first_invalid, std::move(batch->results));
  }
  // Each publish reports into the batch's result slot, on the producer's executor.
  for (std::size_t i = 0; i < prepared.size(); ++i)
    publish(std::move(prepared[i]), publish_handler([this, self = shared_from_this(), batch, i](error_code ec, delivery d) {
              batch->results[i] = {ec, std::move(d)};
              batch->failed |= ec.failed();
              if (--batch->remaining == 0)
                completions_.complete(std::move(batch->handler),
                                      batch->failed ? make_error_code(error::batch_incomplete) : error_code{},
                                      std::move(batch->results));
            }));
}

// ---- flush and close ---------------------------------------------------------------------------

void producer_core::flush(std::chrono::milliseconds timeout, flush_handler h) {
  on_strand([self = shared_from_this(), timeout, h = std::move(h)]() mutable { self->flush_now(timeout, std::move(h)); });
}

void producer_core::flush_now(std::chrono::milliseconds timeout, flush_handler h) {
  // Done when librdkafka holds nothing of ours, cancelled publishes included.
  if (ops_.empty()) return completions_.complete(std::move(h), error_code{}, std::size_t{0});
  auto waiter = std::make_shared<flush_waiter>(ex_);
  waiter->handler.swap(h);
  waiter->timer.expires_after(timeout);
  waiter->timer.async_wait([this, weak = std::weak_ptr<flush_waiter>(waiter), self = shared_from_this()](error_code ec) {
    auto w = weak.lock();
    if (ec || !w || !w->handler) return;
    finish_flush(*w, make_error_code(error::timed_out));
  });
  flush_waiters_.push_back(std::move(waiter));
  update_activity();
}

void producer_core::check_flush_waiters() {
  if (!ops_.empty() || flush_waiters_.empty()) return;
  auto waiters = std::move(flush_waiters_);
  flush_waiters_.clear();
  for (auto& w : waiters)
    if (w->handler) finish_flush(*w, error_code{});
}

void producer_core::finish_flush(flush_waiter& w, error_code ec) {
  w.timer.cancel();
  completions_.complete(std::move(w.handler), ec, ec ? ops_.size() : std::size_t{0});
  std::erase_if(flush_waiters_, [](const auto& p) { return !p->handler; });
  update_activity();
}

void producer_core::close(std::chrono::milliseconds timeout, close_handler h) {
  if (!strand_.running_in_this_thread())
    return on_strand([self = shared_from_this(), timeout, h = std::move(h)]() mutable { self->close(timeout, std::move(h)); });
  if (closing_) return completions_.complete(std::move(h), make_error_code(error::closed), close_report{});
  closing_ = true;
  // Publishes waiting for room or for a retry will not get one now; in-flight ones will get no
  // retry and no DLQ after this.
  std::vector<op_ptr> all;
  for (auto& op : ops_) all.push_back(&op);
  for (op_ptr op : all) apply(op, op->fsm.close());
  flush_now(timeout, [this, self = shared_from_this(), h = std::move(h)](error_code ec, std::size_t remaining) mutable {
    if (ec == boost::asio::error::operation_aborted || destroyed_)  // the producer was destroyed meanwhile
      return completions_.complete(std::move(h), error_code(boost::asio::error::operation_aborted), std::move(close_report_));
    if (remaining == 0) return completions_.complete(std::move(h), error_code{}, std::move(close_report_));
    // Whatever librdkafka still holds comes back as _PURGE_* delivery reports.
    port_->purge();
    flush_now(std::chrono::seconds(5), [this, self, h = std::move(h)](error_code ec2, std::size_t left) mutable {
      auto report = std::move(close_report_);
      if (ec2 == boost::asio::error::operation_aborted || destroyed_)
        return completions_.complete(std::move(h), error_code(boost::asio::error::operation_aborted), std::move(report));
      const error_code result = report.clean() && left == 0 ? error_code{} : make_error_code(error::timed_out);
      completions_.complete(std::move(h), result, std::move(report));
    });
  });
}

// ---- health ------------------------------------------------------------------------------------

void producer_core::health_check(std::chrono::milliseconds timeout, health_handler h) {
  if (!strand_.running_in_this_thread())
    return on_strand([self = shared_from_this(), timeout, h = std::move(h)]() mutable {
      self->health_check(timeout, std::move(h));
    });
  if (!fatal_.empty()) return completions_.complete(std::move(h), make_error_code(error::fatal), health_report{false, {}, fatal_});
  auto waiter = std::make_shared<health_waiter>(ex_);
  waiter->handler.swap(h);
  waiter->started = clock::now();
  waiter->timer.expires_after(timeout);
  waiter->timer.async_wait([this, weak = std::weak_ptr<health_waiter>(waiter), self = shared_from_this(), timeout](error_code ec) {
    auto w = weak.lock();
    if (ec || !w || !w->handler) return;
    std::string why = "no answer from the cluster within " + std::to_string(timeout.count()) + " ms";
    if (last_client_error_) why += " (last client error: " + last_client_error_text_ + ")";
    finish_health(*w, make_error_code(error::timed_out), health_report{false, std::chrono::milliseconds(timeout), why});
  });
  waiter->timeout = timeout;
  health_waiters_.push_back(waiter);
  send_probe();
  update_activity();
}

// One probe at a time: a check that starts while one is on its way waits for it to end and is
// then answered by a probe of its own (an answer from before it started could be stale).
void producer_core::send_probe() {
  if (probe_in_flight_ || health_waiters_.empty() || destroyed_) return;
  std::chrono::milliseconds timeout{0};
  for (const auto& w : health_waiters_) timeout = std::max(timeout, w->timeout);
  probe_in_flight_ = next_probe_++;
  probe_sent_ = clock::now();
  port_->probe(*probe_in_flight_, timeout);
}

void producer_core::on_probe_result(std::uint64_t id, error_code ec, std::string_view detail) {
  if (probe_in_flight_ != id) return;
  probe_in_flight_.reset();
  auto waiters = health_waiters_;
  for (auto& w : waiters) {
    if (!w->handler || w->started > probe_sent_) continue;  // later checks get a probe of their own
    health_report r{!ec, std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - w->started),
                    ec ? std::string(detail) : std::string()};
    finish_health(*w, ec, std::move(r));
  }
  send_probe();
  update_activity();
}

void producer_core::finish_health(health_waiter& w, error_code ec, health_report r) {
  w.timer.cancel();
  completions_.complete(std::move(w.handler), ec, std::move(r));
  std::erase_if(health_waiters_, [](const auto& p) { return !p->handler; });
  update_activity();
}

// ---- client errors -----------------------------------------------------------------------------

void producer_core::on_client_error(error_code ec, std::string_view text, bool fatal) {
  last_client_error_ = ec;
  last_client_error_text_ = std::string(text);
  if (!fatal && refuses_for_good(ec, delivered_once_)) {
    // librdkafka would retry in silence (and repeat this error only after 30 s): what waits to
    // be sent fails now, with the reason, and so do publishes for a while.
    logger()->error("txova producer {}: {}", cfg_.client_id, text);
    security_failure_ = make_diagnostic(static_cast<error>(ec.value()), "security", std::string(text));
    security_failure_at_ = clock::now();
    port_->purge_queued();
    auto waiters = std::move(health_waiters_);
    health_waiters_.clear();
    for (auto& w : waiters)
      if (w->handler) finish_health(*w, ec, health_report{false, {}, std::string(text)});
    return update_activity();
  }
  if (!fatal) {
    logger()->warn("txova producer {}: {} ({})", cfg_.client_id, text, ec.message());
    return;
  }
  if (!fatal_.empty()) return;
  fatal_ = "fatal librdkafka error: " + std::string(text) + "; the producer can send no more (create a new one)";
  fatal_flag_ = true;
  logger()->critical("txova producer {}: {}", cfg_.client_id, fatal_);
  std::vector<op_ptr> all;
  for (auto& op : ops_) all.push_back(&op);
  for (op_ptr op : all) apply(op, op->fsm.fatal(make_error_code(error::fatal), fatal_));
  auto waiters = std::move(health_waiters_);
  health_waiters_.clear();
  for (auto& w : waiters)
    if (w->handler) finish_health(*w, make_error_code(error::fatal), health_report{false, {}, fatal_});
}

const diagnostic* producer_core::recent_security_failure() const {
  if (!security_failure_ || clock::now() - security_failure_at_ >= security_failure_window) return nullptr;
  return &*security_failure_;
}

// ---- activity, stats, destruction --------------------------------------------------------------

// The port keeps the io_context running only while something waits for librdkafka.
void producer_core::update_activity() {
  if (destroyed_) return;
  check_flush_waiters();
  port_->set_busy(in_flight_ > 0 || !ops_.empty() || !health_waiters_.empty() || !flush_waiters_.empty());
  queue_depth_ = port_->queue_depth();
}

producer_stats producer_core::stats() const {
  producer_stats s;
  s.sent = stats_.sent;
  s.failed = stats_.failed;
  s.retried = stats_.retried;
  s.dead_lettered = stats_.dead_lettered;
  s.cancelled = stats_.cancelled;
  s.failed_after_cancel = stats_.failed_after_cancel;
  s.rejected = stats_.rejected;
  s.in_flight = in_flight_;
  s.queue_depth = queue_depth_;
  s.waiting_for_room = waiting_;
  s.fatal = fatal_flag_;
  return s;
}

void producer_core::destroy_soon() noexcept {
  try {
    on_strand([self = shared_from_this()] { self->destroy(); });
  } catch (...) {
    destroy();  // nothing to dispatch to: no handler of ours can run either
  }
}

// Destruction without close: abort everything, purge librdkafka's queues.
void producer_core::destroy() noexcept {
  if (destroyed_) return;
  destroyed_ = true;
  closing_ = true;
  port_->stop();
  port_->purge();
  const error_code aborted = boost::asio::error::operation_aborted;
  for (auto& op : ops_) {
    op.timer.reset();
    if (!op.handler) continue;
    --in_flight_;
    completions_.complete(std::move(op.handler), aborted,
                          delivery{op.topic, -1, -1, {}, op.fsm.attempts(), {}, "the producer was destroyed", op.id});
  }
  for (auto& w : flush_waiters_)
    if (w->handler) completions_.complete(std::move(w->handler), aborted, ops_.size());
  flush_waiters_.clear();
  for (auto& w : health_waiters_)
    if (w->handler) completions_.complete(std::move(w->handler), aborted, health_report{});
  health_waiters_.clear();
  room_waiters_.clear();
  waiting_ = 0;
  // Destroying the port destroys librdkafka's client, which joins its threads; with the queues
  // purged it returns promptly. Reports it still has are dropped with the queue.
  port_.reset();
  ops_.clear();
  spare_ops_.clear();
}

// ---- what producer.hpp calls -------------------------------------------------------------------

std::unique_ptr<producer_port> make_rdkafka_producer_port(boost::asio::any_io_executor ex, const producer_config& cfg);

std::shared_ptr<producer_core> make_producer_core(boost::asio::any_io_executor ex, producer_config cfg) {
  if (auto d = cfg.validate()) boost::throw_exception(diagnostic_error(d));
  auto strand = boost::asio::make_strand(ex);
  auto port = make_rdkafka_producer_port(strand, cfg);
  return std::make_shared<producer_core>(std::move(ex), std::move(strand), std::move(cfg), std::move(port));
}
std::shared_ptr<producer_core> make_producer_core(boost::asio::any_io_executor ex, producer_config cfg,
                                                  std::unique_ptr<producer_port> port) {
  auto strand = boost::asio::make_strand(ex);
  return std::make_shared<producer_core>(std::move(ex), std::move(strand), std::move(cfg), std::move(port));
}
prepared_ptr prepare_publish(producer_core& c, const envelope& e, const publish_options& o) { return c.prepare_one(e, o); }
prepared_ptr prepare_record(producer_core& c, producer_record r) { return c.prepare_raw(std::move(r)); }
prepared_ptr prepare_failed(producer_core& c, std::string_view type, diagnostic why) {
  return c.prepare_failed(type, std::move(why));
}
prepared_ptr prepare_checked(producer_core& c, const envelope& e, std::string key, const publish_options& o,
                             const trace_context* trace) {
  return c.prepare_checked(e, std::move(key), o, trace);
}
void start_publish(producer_core& c, prepared_ptr p, publish_handler h) { c.publish(std::move(p), std::move(h)); }
void use(producer_core& c, producer_middleware mw) { c.use(std::move(mw)); }
void use(producer_core& c, std::shared_ptr<publish_observer> o) { c.use(std::move(o)); }
void start_publish_batch(producer_core& c, std::vector<envelope> es, batch_handler h) {
  c.publish_batch(std::move(es), std::move(h));
}
error_code publish_detached(producer_core& c, prepared_ptr p, publish_handler h) {
  return c.publish_detached(std::move(p), std::move(h));
}
void start_flush(producer_core& c, std::chrono::milliseconds t, flush_handler h) { c.flush(t, std::move(h)); }
void start_close(producer_core& c, std::chrono::milliseconds t, close_handler h) { c.close(t, std::move(h)); }
void start_health_check(producer_core& c, std::chrono::milliseconds t, health_handler h) {
  c.health_check(t, std::move(h));
}
producer_stats stats(const producer_core& c) { return c.stats(); }
const std::string& client_id(const producer_core& c) { return c.config().client_id; }
void destroy(producer_core& c) noexcept { c.destroy_soon(); }

}  // namespace txova::kafka::detail
