// consumer_core: construction, async_run's dispatcher, records(), stop and the graceful
// shutdown, and what the port reports about the client. See consumer_core.hpp.
#include "consumer_core.hpp"

#include <txova/kafka/detail/security_failure.hpp>
#include <txova/kafka/detail/statistics.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/logging_middleware.hpp>
#include <txova/kafka/tracing.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/throw_exception.hpp>
#include <librdkafka/rdkafka.h>  // error codes only: the port does the calls
#include <spdlog/spdlog.h>

#include <algorithm>

namespace txova::kafka::detail {

namespace asio = boost::asio;
using boost::system::error_code;

consumer_core::consumer_core(asio::any_io_executor ex, asio::strand<asio::any_io_executor> strand, consumer_config cfg,
                             std::unique_ptr<consumer_port> port, std::unique_ptr<producer_port> dead_letter_port)
    : strand_(std::move(strand)), ex_(strand_), cfg_(std::move(cfg)), completions_(ex_, std::move(ex)), port_(std::move(port)),
      dead_letter_port_(std::move(dead_letter_port)), tick_(ex_), dispatch_wake_(ex_), hold_timer_(ex_) {
  if (auto d = cfg_.validate()) boost::throw_exception(diagnostic_error(d));
  group_ = cfg_.effective_group_id();
  backoff_ = backoff_policy{cfg_.retry_backoff, cfg_.retry_backoff_max};
  if (cfg_.tracer) observers_.push_back(consumer_tracing(cfg_.tracer));  // first, outermost
  if (cfg_.logging.each_message) observers_.push_back(consumer_logging(cfg_.logging));
  probe_ = port_->probe();
  port_->start(*this);
}

consumer_core::~consumer_core() { destroy(); }

// ---- async_run: the dispatcher, then the graceful shutdown -------------------------------

void consumer_core::run(run_handler h) {
  if (!strand_.running_in_this_thread())
    return on_strand([self = shared_from_this(), h = std::move(h)]() mutable { self->run(std::move(h)); });
  if (records_mode_ && !ran_ && !destroyed_) {
    // records() runs the consumer: async_run waits for the shutdown stop() starts.
    if (shutdown_result_) return completions_.complete(std::move(h), *shutdown_result_);
    shutdown_waiters_.push_back(std::move(h));
    return;
  }
  if (ran_ || records_mode_ || destroyed_) return completions_.complete(std::move(h), make_error_code(error::closed));
  ran_ = true;
  dispatcher_ = true;
  routes_.freeze();
  asio::co_spawn(ex_, run_coro(), [self = shared_from_this(), h = std::move(h)](std::exception_ptr e, error_code ec) mutable {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        logger()->error("consumer {}: stopped by an internal error: {}", self->group_, x.what());
      }
      ec = make_error_code(error::internal);
    }
    if (!ec && self->failure_) ec = self->failure_.code;
    self->completions_.complete(std::move(h), ec);
  });
}

asio::awaitable<error_code> consumer_core::run_coro() {
  auto self = shared_from_this();
  if (stopping_) co_return error_code{};  // stopped before it ran
  if (!start()) co_return failure_ ? failure_.code : make_error_code(error::closed);
  while (!stopping_) {
    if (buffer_.empty()) {
      dispatch_wake_.expires_at(consumer_clock::time_point::max());
      co_await dispatch_wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (destroyed_) co_return error_code(asio::error::operation_aborted);
      continue;
    }
    auto batch = std::move(buffer_);
    buffer_.clear();
    for (auto& [p, r] : batch) {
      if (!p->fsm.running()) continue;
      p->queue.push_back(std::move(r));
      if (p->idle) p->wake.cancel();
    }
  }
  co_return co_await shutdown();
}

bool consumer_core::start() {
  if (started_) return true;
  started_ = true;
  if (const error_code ec = port_->subscribe(cfg_.topics)) {
    fail(make_diagnostic(error::invalid_config, "topics", "subscribe failed: " + ec.message()));
    return false;
  }
  if (cfg_.manual_assignment.empty())
    logger()->info("consumer {}: subscribed to {} topic(s), joining the group", group_, cfg_.topics.size());
  else
    logger()->info("consumer {}: reading {} partition(s) by manual assignment", group_, cfg_.manual_assignment.size());
  port_->set_busy(true);
  arm_tick();
  return true;
}

std::chrono::milliseconds tick_interval(const consumer_config& cfg) {
  return std::min<std::chrono::milliseconds>(cfg.commit_interval, std::chrono::milliseconds(1000));
}

// Commits on the interval, and polls librdkafka even when the queue is quiet (a consumer that
// does not poll within max.poll.interval.ms is thrown out of the group).
void consumer_core::arm_tick() {
  tick_.expires_after(tick_interval(cfg_));
  tick_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->destroyed_ || self->closed_) return;
    self->port_->poke();
    if (consumer_clock::now() - self->last_commit_ >= self->cfg_.commit_interval) self->commit();
    if (self->lag_watched_.load(std::memory_order_relaxed)) {
      auto lag = self->lag();
      std::lock_guard lock(self->lag_mutex_);
      self->lag_snapshot_ = std::move(lag);
    }
    self->arm_tick();
  });
}

// ---- records(): the generator's one-record form ------------------------------------------

void consumer_core::next_record(record_handler h) {
  if (!strand_.running_in_this_thread())
    return on_strand([self = shared_from_this(), h = std::move(h)]() mutable { self->next_record(std::move(h)); });
  if (dispatcher_)
    return completions_.complete(std::move(h), error_code(asio::error::operation_not_supported), consumed_record{});
  if (destroyed_ || stopping_) return completions_.complete(std::move(h), make_error_code(error::closed), consumed_record{});
  if (record_waiter_) return completions_.complete(std::move(h), error_code(asio::error::already_started), consumed_record{});
  records_mode_ = true;
  record_waiter_.swap(h);
  if (!start()) {
    record_handler w;
    w.swap(record_waiter_);
    return completions_.complete(std::move(w), make_error_code(error::closed), consumed_record{});
  }
  hand_out();
}

void consumer_core::hand_out() {
  if (!record_waiter_ || buffer_.empty()) return;
  auto [p, r] = std::move(buffer_.front());
  buffer_.pop_front();
  p->fsm.started();
  record_handler w;
  w.swap(record_waiter_);
  completions_.complete(std::move(w), error_code{}, std::move(r));
}

void consumer_core::abandon(const consumed_record& r) {
  if (!strand_.running_in_this_thread())
    return on_strand([self = shared_from_this(), topic = std::string(r.topic()), partition = r.partition()] {
      if (partition_state* p = self->find(topic, partition)) self->record_abandoned(*p);
    });
  if (partition_state* p = find(r.topic(), r.partition())) record_abandoned(*p);
}

void consumer_core::mark_done(const consumed_record& r) {
  if (!strand_.running_in_this_thread())
    return on_strand([self = shared_from_this(), topic = std::string(r.topic()), partition = r.partition(), offset = r.offset()] {
      if (partition_state* p = self->find(topic, partition)) self->record_done(*p, offset);
    });
  if (partition_state* p = find(r.topic(), r.partition())) record_done(*p, r.offset());
}

// ---- stopping ------------------------------------------------------------------------------

void consumer_core::stop() {
  if (!strand_.running_in_this_thread()) return on_strand([self = shared_from_this()] { self->stop(); });
  if (destroyed_) return;
  if (stopping_) {
    if (!forced_) logger()->warn("consumer {}: stopped again, cancelling in-flight handlers", group_);
    force();
    return;
  }
  stopping_ = true;
  logger()->info("consumer {}: stopping: finishing in-flight handlers (at most {} ms)", group_, cfg_.shutdown_timeout.count());
  for (auto& p : partitions_) drop_queued(*p);
  buffer_.clear();
  if (dispatcher_) {
    dispatch_wake_.cancel();
  } else if (started_) {
    if (record_waiter_) {
      record_handler w;
      w.swap(record_waiter_);
      completions_.complete(std::move(w), make_error_code(error::closed), consumed_record{});
    }
    asio::co_spawn(ex_, shutdown(), [self = shared_from_this()](std::exception_ptr e, error_code ec) {
      self->shutdown_result_ = e ? make_error_code(error::internal) : ec;
      for (auto& w : std::exchange(self->shutdown_waiters_, {})) self->completions_.complete(std::move(w), *self->shutdown_result_);
    });
  }
}

void consumer_core::fail(diagnostic d) {
  if (!failure_) {
    std::lock_guard lock(failure_mutex_);
    failure_ = std::move(d);
    logger()->error("consumer {}: stopping on an error: {}", group_, failure_.message);
  }
  stop();
}

void consumer_core::force() {
  forced_ = true;
  for (auto& p : partitions_) {
    p->queue.clear();
    p->retry_timer.cancel();
    p->cancel.emit(asio::cancellation_type::terminal);
  }
  notify();
}

void consumer_core::notify() {
  for (auto* t : watchers_) t->cancel();
}

asio::awaitable<error_code> consumer_core::shutdown() {
  auto self = shared_from_this();
  bool clean = true;
  const auto idle = [this] {
    return std::none_of(partitions_.begin(), partitions_.end(),
                        [](const auto& p) { return p->worker_running || p->fsm.active() > 0; });
  };
  if (!co_await wait_until(idle, consumer_clock::now() + cfg_.shutdown_timeout)) {
    if (destroyed_) co_return error_code(asio::error::operation_aborted);
    logger()->warn("consumer {}: handlers still running at the shutdown deadline ({} ms): cancelling them", group_,
                   cfg_.shutdown_timeout.count());
    clean = false;
    force();
    co_await wait_until([this] { return std::none_of(partitions_.begin(), partitions_.end(),
                                                     [](const auto& p) { return p->worker_running; }); },
                        consumer_clock::now() + std::chrono::seconds(2));
  }
  if (destroyed_) co_return error_code(asio::error::operation_aborted);
  commit();
  const auto committed = [this] {
    return commits_in_flight_ == 0 && std::none_of(partitions_.begin(), partitions_.end(), [](const auto& p) {
             return !p->fsm.lost() && p->fsm.committable().has_value();
           });
  };
  if (!co_await wait_until(committed, consumer_clock::now() + std::chrono::seconds(10), std::chrono::milliseconds(50))) {
    logger()->warn("consumer {}: final commit did not complete within 10 s; those records will be redelivered", group_);
    clean = false;
  }
  if (destroyed_) co_return error_code(asio::error::operation_aborted);
  // Leave the group: the revocation this causes is served by our drain like any other.
  bool closing = true;
  if (const error_code ec = port_->close()) {
    logger()->warn("consumer {}: close: {}", group_, ec.message());
    closing = false;  // not started (a fatal error): nothing to wait for
    clean = false;
  }
  port_->poke();
  const auto left = [this, closing] { return !closing || port_->closed(); };
  const auto leave_limit = std::max<std::chrono::milliseconds>(cfg_.session_timeout, std::chrono::seconds(10));
  if (!co_await wait_until(left, consumer_clock::now() + leave_limit, std::chrono::milliseconds(10))) {
    logger()->warn("consumer {}: did not leave the group within {} ms", group_, leave_limit.count());
    clean = false;
  }
  if (destroyed_) co_return error_code(asio::error::operation_aborted);
  if (dlq_) {
    auto [ec, report] = co_await dlq_->async_close(std::chrono::seconds(5), asio::as_tuple(asio::use_awaitable));
    if (ec) clean = false;
  }
  closed_ = true;
  tick_.cancel();
  for (auto& p : partitions_) port_->hold(p->topic, p->partition, false);
  port_->stop();
  logger()->info("consumer {}: stopped{}", group_, failure_ ? " on an error: " + failure_.message
                                                  : clean ? "" : " (not cleanly, see the warnings above)");
  if (failure_) co_return failure_.code;
  co_return clean ? error_code{} : make_error_code(error::timed_out);
}

// Stops at once: handlers are cancelled, nothing more is committed, the group is not left
// politely (it notices at the session timeout). What was not committed is redelivered.
void consumer_core::destroy() noexcept {
  if (destroyed_) return;
  destroyed_ = stopping_ = forced_ = true;
  tick_.cancel();
  dispatch_wake_.cancel();
  hold_timer_.cancel();
  for (auto& p : partitions_) {
    p->queue.clear();
    p->wake.cancel();
    p->retry_timer.cancel();
    p->deadline_timer.cancel();
    p->cancel.emit(asio::cancellation_type::terminal);
  }
  notify();
  buffer_.clear();
  if (record_waiter_) {
    record_handler w;
    w.swap(record_waiter_);
    completions_.complete(std::move(w), error_code(asio::error::operation_aborted), consumed_record{});
  }
  if (port_) port_->stop();
  dlq_.reset();
  port_.reset();  // the client goes now, or when the last record still held elsewhere goes
}

// ---- what the port reports about the client ------------------------------------------------

void consumer_core::on_client_error(error_code ec, std::string_view text, bool fatal) {
  if (fatal) {
    fatal_ = std::string(text);
    return fail(make_diagnostic(error::fatal, "", "fatal librdkafka error: " + fatal_));
  }
  if (refuses_for_good(ec, stats_.rebalances > 0)) {
    // Nothing can be fetched or committed with credentials, a CA or a protocol the brokers
    // refuse, and librdkafka would retry in silence: the consumer stops and says why.
    return fail(make_diagnostic(static_cast<error>(ec.value()), "security", std::string(text)));
  }
  if (ec == make_rdkafka_error(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)) {
    brokers_down_ = true;
    brokers_down_reason_ = std::string(text);
  }
  logger()->warn("consumer {}: {}", group_, text);
}

void consumer_core::on_statistics(std::string_view json) {
  const client_statistics stats = parse_statistics(json);
  for (const auto& s : stats.partitions)
    if (partition_state* p = find(s.topic, s.partition)) p->stats_lag = s.consumer_lag;
  if (stats.brokers_known == 0) return;
  brokers_down_ = stats.brokers_up == 0;
  if (brokers_down_) brokers_down_reason_ = "no broker of " + std::to_string(stats.brokers_known) + " is connected (librdkafka's statistics)";
}

void consumer_core::on_internal_error(std::string_view where, std::string_view what) {
  fail(make_diagnostic(error::internal, "", "internal error in " + std::string(where) + ": " + std::string(what)));
}

void consumer_core::on_partition_end(std::string_view topic, std::int32_t partition, std::int64_t offset) {
  if (partition_state* p = find(topic, partition)) p->end_offset = offset;
}

void consumer_core::on_partition_error(std::string_view topic, std::int32_t partition, error_code ec, std::string_view text) {
  ++stats_.partition_errors;
  std::string what = std::string(text) + " (" + ec.message() + ")";
  if (partition_state* p = find(topic, partition)) {
    if (p->fetch_error == what) return;  // reported once until it changes or clears
    p->fetch_error = what;
  }
  logger()->warn("consumer {}: {}[{}]: {}; its records are fetched again when it clears", group_, topic, partition, what);
}

}  // namespace txova::kafka::detail
