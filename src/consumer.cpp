// The consumer (consumer.hpp). One consumer_core per consumer, used only from its executor.
//
// Flow of a record:
//   librdkafka consumer queue --drain (rd_kafka_consume_batch_queue, woken by event_pump, at
//   most 512 per turn so handlers run in between)-->
//   buffer_ (the generator's buffer) --dispatcher (async_run)--> partition_state::queue -->
//   worker coroutine of that partition (its strand) --> handler, raced against the timeout,
//   retried, dead-lettered --> offset_tracker::done --> committed on the tick / revoke / stop.
//
// Callbacks of librdkafka (rebalance, commit results, statistics, errors) are served inside the
// drain, i.e. on the executor: no locks. The log callback is the only one on librdkafka threads.
#include <txova/kafka/consumer.hpp>

#include <txova/kafka/dlq.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/detail/event_pump.hpp>
#include <txova/kafka/detail/offset_tracker.hpp>
#include <txova/kafka/detail/partition_flow.hpp>
#include <txova/kafka/detail/rdkafka_handles.hpp>
#include <txova/kafka/detail/statistics.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>

namespace txova::kafka {
namespace detail {

// Never an object: a rd_kafka_message_t* under a name the public header can declare.
struct raw_message {};

namespace {
rd_kafka_message_t* as_message(raw_message* m) noexcept { return reinterpret_cast<rd_kafka_message_t*>(m); }
raw_message* as_raw(rd_kafka_message_t* m) noexcept { return reinterpret_cast<raw_message*>(m); }
}  // namespace

void raw_message_deleter::operator()(raw_message* m) const noexcept { rd_kafka_message_destroy(as_message(m)); }

}  // namespace detail

// ---- consumed_record -----------------------------------------------------------------------

std::string_view consumed_record::topic() const noexcept {
  if (!msg_) return {};
  const char* name = rd_kafka_topic_name(detail::as_message(msg_.get())->rkt);
  return name ? std::string_view(name) : std::string_view();
}
std::int32_t consumed_record::partition() const noexcept {
  return msg_ ? detail::as_message(msg_.get())->partition : -1;
}
std::int64_t consumed_record::offset() const noexcept { return msg_ ? detail::as_message(msg_.get())->offset : -1; }
std::string_view consumed_record::key() const noexcept {
  const rd_kafka_message_t* m = msg_ ? detail::as_message(msg_.get()) : nullptr;
  if (!m || !m->key) return {};
  return {static_cast<const char*>(m->key), m->key_len};
}
std::string_view consumed_record::value() const noexcept {
  const rd_kafka_message_t* m = msg_ ? detail::as_message(msg_.get()) : nullptr;
  if (!m || !m->payload || m->err) return {};
  return {static_cast<const char*>(m->payload), m->len};
}
std::vector<std::pair<std::string, std::string>> consumed_record::headers() const {
  std::vector<std::pair<std::string, std::string>> out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (!msg_ || rd_kafka_message_headers(detail::as_message(msg_.get()), &hdrs) || !hdrs) return out;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &value, &size); ++i)
    out.emplace_back(name ? name : "", value ? std::string(static_cast<const char*>(value), size) : std::string());
  return out;
}
std::optional<std::string> consumed_record::header(std::string_view name) const {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!msg_ || rd_kafka_message_headers(detail::as_message(msg_.get()), &hdrs) || !hdrs) return std::nullopt;
  const char* n = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &n, &value, &size); ++i)
    if (n && name == n) return value ? std::string(static_cast<const char*>(value), size) : std::string();
  return std::nullopt;
}
const char* consumed_record::error() const noexcept {
  rd_kafka_message_t* m = msg_ ? detail::as_message(msg_.get()) : nullptr;
  return m && m->err ? rd_kafka_message_errstr(m) : nullptr;
}
timestamp consumed_record::broker_time() const noexcept {
  if (!msg_) return {};
  rd_kafka_timestamp_type_t type{};
  const std::int64_t ms = rd_kafka_message_timestamp(detail::as_message(msg_.get()), &type);
  if (ms < 0) return {};
  return timestamp(std::chrono::milliseconds(ms));
}

namespace detail {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

// Properties a DLQ producer shares with its consumer: where the cluster is and how to reach it.
bool is_connection_property(std::string_view name) {
  for (std::string_view prefix : {"security.", "sasl.", "ssl.", "socket.", "broker.", "client.dns"})
    if (name.starts_with(prefix)) return true;
  return false;
}

}  // namespace

// One assigned partition: its tracker, its backpressure, and its strand (the worker).
struct partition_state : std::enable_shared_from_this<partition_state> {
  partition_state(const asio::any_io_executor& ex, std::string t, std::int32_t p, std::size_t limit)
      : topic(std::move(t)), partition(p), flow(limit), wake(ex), deadline_timer(ex), retry_timer(ex) {}

  std::string topic;
  std::int32_t partition;
  offset_tracker tracker;
  partition_flow flow;
  std::deque<consumed_record> queue;  // handed to this strand, not started
  asio::steady_timer wake;            // the idle worker waits here
  asio::steady_timer deadline_timer;  // the handler timeout; armed at most once per timeout period
  asio::steady_timer retry_timer;     // backoff between attempts and between DLQ writes
  asio::cancellation_signal cancel;   // cancels whatever the worker awaits (the handler)
  clock::time_point deadline{};
  bool handler_running = false;
  bool deadline_armed = false;
  bool timed_out = false;
  bool worker_running = false;
  bool idle = false;
  bool revoked = false;  // no new records; the worker ends after its current one
  bool lost = false;     // revoked without a chance to commit
  std::size_t with_user = 0;  // records()-mode: handed out, not marked done
  std::int64_t stats_lag = -1;
  queue_handle fetched;  // librdkafka's queue of this partition, while it is or was held
};

class consumer_core : public std::enable_shared_from_this<consumer_core> {
public:
  consumer_core(asio::any_io_executor ex, consumer_config cfg)
      : ex_(std::move(ex)), cfg_(std::move(cfg)), tick_(ex_), dispatch_wake_(ex_) {
    if (auto d = cfg_.validate()) boost::throw_exception(diagnostic_error(d));
    group_ = cfg_.effective_group_id();
    backoff_ = backoff_policy{cfg_.retry_backoff, cfg_.retry_backoff_max};
    auto conf = make_conf(cfg_.rdkafka_properties());
    if (!conf) boost::throw_exception(diagnostic_error(conf.error()));
    rd_kafka_conf_set_opaque(conf->get(), this);
    rd_kafka_conf_set_rebalance_cb(conf->get(), &on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf->get(), &on_commit);
    rd_kafka_conf_set_error_cb(conf->get(), &on_error);
    rd_kafka_conf_set_log_cb(conf->get(), &on_log);
    if (cfg_.statistics_interval.count() > 0) rd_kafka_conf_set_stats_cb(conf->get(), &on_statistics);
    auto client = make_client(RD_KAFKA_CONSUMER, std::move(*conf));
    if (!client) boost::throw_exception(diagnostic_error(client.error()));
    // Shared with every fetched record: librdkafka must outlive its messages, and a record may
    // outlive the consumer (a handler's local, a records() reader's). Not closing here: close()
    // is the graceful path, the destructor is the abrupt one.
    rk_ = std::shared_ptr<rd_kafka_t>(client->release(), [](rd_kafka_t* rk) {
      rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    });
    rd_kafka_poll_set_consumer(rk_.get());  // one queue for records, rebalances and commit results
    queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));
    pump_ = std::make_unique<event_pump>(
        ex_, queue_.get(), [this](std::size_t max) { return drain(max); },
        cfg_.wakeup == wakeup_mode::callback ? event_pump::mode::callback : event_pump::mode::fd, 512);
  }

  ~consumer_core() { destroy(); }

  router& routes() { return routes_; }

  // ---- async_run: the dispatcher, then the graceful shutdown -------------------------------

  void run(run_handler h) {
    if (ran_ || records_mode_ || destroyed_)
      return complete(std::move(h), make_error_code(error::closed));
    ran_ = true;
    dispatcher_ = true;
    asio::co_spawn(ex_, run_coro(), [self = shared_from_this(), h = std::move(h)](std::exception_ptr e, error_code ec) mutable {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          logger()->error("consumer {}: stopped by an internal error: {}", self->group_, x.what());
        }
        ec = make_error_code(error::closed);
      }
      self->complete(std::move(h), ec);
    });
  }

  // ---- records(): the generator's one-record form ------------------------------------------

  void next_record(record_handler h) {
    if (dispatcher_) return complete(std::move(h), error_code(asio::error::operation_not_supported), consumed_record{});
    if (destroyed_ || stopping_) return complete(std::move(h), make_error_code(error::closed), consumed_record{});
    if (record_waiter_) return complete(std::move(h), error_code(asio::error::already_started), consumed_record{});
    records_mode_ = true;
    record_waiter_.swap(h);
    if (!start()) return complete(take(record_waiter_), make_error_code(error::closed), consumed_record{});
    hand_out();
  }

  void mark_done(const consumed_record& r) {
    partition_state* p = find(r.topic(), r.partition());
    if (!p || !p->tracker.done(r.offset())) return;
    if (p->with_user > 0) --p->with_user;
    finished(*p);
    notify();
  }

  void stop() {
    if (destroyed_) return;
    if (stopping_) {
      if (!forced_) logger()->warn("consumer {}: stopped again, cancelling in-flight handlers", group_);
      force();
      return;
    }
    stopping_ = true;
    logger()->info("consumer {}: stopping: finishing in-flight handlers (at most {} ms)", group_,
                   cfg_.shutdown_timeout.count());
    drop_waiting_records([](const partition_state&) { return true; });
    if (dispatcher_) {
      dispatch_wake_.cancel();
    } else if (started_) {
      if (record_waiter_) complete(take(record_waiter_), make_error_code(error::closed), consumed_record{});
      asio::co_spawn(ex_, shutdown(), asio::detached);
    }
  }

  void health_check(consumer_health_handler h) {
    consumer_health r;
    r.running = started_ && !stopping_ && !destroyed_;
    r.assigned_partitions = partitions_.size();
    r.since_last_poll = started_ ? std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - last_poll_)
                                 : std::chrono::milliseconds(0);
    r.lag = lag();
    const auto poll_limit = std::max<std::chrono::milliseconds>(5 * tick_interval(), std::chrono::seconds(5));
    if (!r.running) r.detail = started_ ? "the consumer is stopping or stopped" : "the consumer is not running";
    else if (!fatal_.empty()) r.detail = "fatal librdkafka error: " + fatal_;
    else if (r.since_last_poll > poll_limit)
      r.detail = "librdkafka was last polled " + std::to_string(r.since_last_poll.count()) + " ms ago (limit " +
                 std::to_string(poll_limit.count()) + " ms)";
    r.healthy = r.detail.empty();
    complete(std::move(h), error_code{}, std::move(r));
  }

  consumer_stats stats() const {
    consumer_stats s = stats_;
    s.assigned = partitions_.size();
    for (const auto& p : partitions_) {
      s.in_flight += p->tracker.in_progress();
      s.paused += p->flow.paused() ? 1 : 0;
    }
    return s;
  }

  std::vector<partition_lag> lag() const {
    std::vector<partition_lag> out;
    for (const auto& p : partitions_) {
      partition_lag l;
      l.topic = p->topic;
      l.partition = p->partition;
      std::int64_t lo = -1, hi = -1;
      if (rk_ && !rd_kafka_get_watermark_offsets(rk_.get(), p->topic.c_str(), p->partition, &lo, &hi) && hi >= 0)
        l.high_watermark = hi;
      l.next_to_commit = p->tracker.position();
      // Nothing fetched yet: we read from the log start (librdkafka refreshes its low watermark
      // with the statistics), which overstates the lag when the group committed further on.
      if (l.next_to_commit < 0 && lo >= 0) l.next_to_commit = lo;
      if (l.high_watermark >= 0 && l.next_to_commit >= 0) l.lag = std::max<std::int64_t>(0, l.high_watermark - l.next_to_commit);
      l.stats_lag = p->stats_lag;
      out.push_back(std::move(l));
    }
    return out;
  }

  // Stops at once: handlers are cancelled, nothing more is committed, the group is not left
  // politely (it notices at the session timeout). What was not committed is redelivered.
  void destroy() noexcept {
    if (destroyed_) return;
    destroyed_ = stopping_ = forced_ = true;
    tick_.cancel();
    dispatch_wake_.cancel();
    for (auto& p : partitions_) {
      p->revoked = true;
      p->queue.clear();
      p->wake.cancel();
      p->retry_timer.cancel();
      p->deadline_timer.cancel();
      p->cancel.emit(asio::cancellation_type::terminal);
      p->fetched.reset();
    }
    notify();
    buffer_.clear();
    if (record_waiter_) complete(take(record_waiter_), error_code(asio::error::operation_aborted), consumed_record{});
    if (pump_) pump_->stop();
    dlq_.reset();
    queue_.reset();
    rk_.reset();  // destroyed now, or when the last record still held elsewhere goes
  }

private:
  using partition_ptr = std::shared_ptr<partition_state>;

  // ---- start, tick, drain ----------------------------------------------------------------

  bool start() {
    if (started_) return true;
    started_ = true;
    last_poll_ = clock::now();
    partition_list_handle topics(rd_kafka_topic_partition_list_new(static_cast<int>(cfg_.topics.size())));
    for (const auto& t : cfg_.topics) rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), topics.get())) {
      fatal_ = std::string("subscribe failed: ") + rd_kafka_err2str(err);
      logger()->error("consumer {}: {}", group_, fatal_);
      stopping_ = true;
      return false;
    }
    logger()->info("consumer {}: subscribed to {} topic(s), joining the group", group_, cfg_.topics.size());
    pump_->activate();
    arm_tick();
    return true;
  }

  std::chrono::milliseconds tick_interval() const {
    return std::min<std::chrono::milliseconds>(cfg_.commit_interval, std::chrono::milliseconds(1000));
  }

  // Commits on the interval, and polls librdkafka even when the queue is quiet (a consumer that
  // does not poll within max.poll.interval.ms is thrown out of the group).
  void arm_tick() {
    tick_.expires_after(tick_interval());
    tick_.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->destroyed_ || self->closed_) return;
      self->pump_->poke();
      if (clock::now() - self->last_commit_ >= self->cfg_.commit_interval) self->commit();
      self->arm_tick();
    });
  }

  std::size_t drain(std::size_t max) {
    last_poll_ = clock::now();
    // One message per call: librdkafka 2.0.2's batch call can drop messages already in its array
    // when a rebalance's barrier arrives during the call, after counting them as consumed (fixed
    // in 2.1.0), and a dropped message would be committed past.
    const bool had = !buffer_.empty();
    std::size_t got = 0;
    for (; got < max; ++got) {
      rd_kafka_message_t* m = nullptr;
      if (rd_kafka_consume_batch_queue(queue_.get(), 0, &m, 1) <= 0 || !m) break;
      on_message(m);
      if (destroyed_) return got + 1;
    }
    if (got == 0) return 0;
    if (dispatcher_) {
      if (!buffer_.empty() && !had) dispatch_wake_.cancel();  // a non-empty buffer is already being dispatched
    } else {
      hand_out();
    }
    return got;
  }

  void on_message(rd_kafka_message_t* m) {
    consumed_record record(as_raw(m), rk_);  // owns it from here on
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
      logger()->warn("consumer {}: {} (topic \"{}\", partition {}, offset {})", group_, rd_kafka_message_errstr(m),
                     m->rkt ? rd_kafka_topic_name(m->rkt) : "", m->partition, m->offset);
      // An error about a record librdkafka then skips (bad CRC, unsupported format) carries its
      // offset: it goes on as a poison record, so it is dead-lettered, never committed past unseen.
      if (m->offset < 0 || !m->rkt) return;
    }
    partition_state* p = find(record.topic(), m->partition);
    // Not (or no longer) ours, or stopping: dropped undone, so never committed; its next owner
    // (or our next run) reads it again.
    if (!p || p->revoked || stopping_) return;
    if (!p->tracker.dispatched(m->offset)) return;  // seen before (a refetch): already in hand
    ++stats_.received;
    if (p->flow.queued() == partition_flow::action::pause) hold(*p, true);
    buffer_.emplace_back(p, std::move(record));
  }

  // records()-mode: the next buffered record to the waiting reader.
  void hand_out() {
    if (!record_waiter_ || buffer_.empty()) return;
    auto [p, r] = std::move(buffer_.front());
    buffer_.pop_front();
    ++p->with_user;
    complete(take(record_waiter_), error_code{}, std::move(r));
  }

  partition_state* find(std::string_view topic, std::int32_t partition) {
    if (last_found_ && last_found_->partition == partition && last_found_->topic == topic) return last_found_;
    for (auto& p : partitions_)
      if (p->partition == partition && p->topic == topic) return last_found_ = p.get();
    return nullptr;
  }

  // A record of `p` is done: its offset may be committed once the ones before it are.
  void finished(partition_state& p) {
    if (p.flow.finished() == partition_flow::action::resume && !p.revoked) hold(p, false);
  }

  // Backpressure for one partition. Holding it cuts its queue in librdkafka off from the consumer
  // queue: its fetched records wait there, and librdkafka stops fetching the partition once that
  // queue holds queued.min.messages. Releasing forwards the queue again, held records first, so
  // the order is kept. rd_kafka_pause_partitions would throw the prefetched records away and
  // fetch them again: 65 k against 194 k msg/s at the default limit (docs/consumer.md).
  // Called on the flow's transitions only, so `on` alternates.
  void hold(partition_state& p, bool on) {
    if (!rk_) return;
    if (!p.fetched) p.fetched.reset(rd_kafka_queue_get_partition(rk_.get(), p.topic.c_str(), p.partition));
    if (!p.fetched) return;
    rd_kafka_queue_forward(p.fetched.get(), on ? nullptr : queue_.get());
    if (!on) pump_->poke();  // the consumer queue got the held records without a wakeup
  }

  // ---- dispatcher and workers -------------------------------------------------------------

  asio::awaitable<error_code> run_coro() {
    auto self = shared_from_this();
    if (stopping_) co_return error_code{};  // stopped before it ran
    if (!start()) co_return make_error_code(error::closed);
    while (!stopping_) {
      if (buffer_.empty()) {
        dispatch_wake_.expires_at(clock::time_point::max());
        co_await dispatch_wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (destroyed_) co_return error_code(asio::error::operation_aborted);
        continue;
      }
      auto batch = std::move(buffer_);
      buffer_.clear();
      for (auto& [p, r] : batch) {
        if (p->revoked) continue;
        p->queue.push_back(std::move(r));
        if (p->idle) p->wake.cancel();
      }
    }
    co_return co_await shutdown();
  }

  void start_worker(const partition_ptr& p) {
    p->worker_running = true;
    asio::co_spawn(ex_, worker(p),
                   asio::bind_cancellation_slot(p->cancel.slot(), [self = shared_from_this(), p](std::exception_ptr e) {
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
  asio::awaitable<void> worker(partition_ptr p) {
    auto self = shared_from_this();
    // Cancellation is aimed at the handler (timeout, forced stop); the worker itself decides
    // what a cancelled wait means, so its own awaits must not throw for it.
    co_await asio::this_coro::throw_if_cancelled(false);
    while (!p->revoked && !forced_) {
      if (p->queue.empty()) {
        if (stopping_) break;
        p->idle = true;
        p->wake.expires_at(clock::time_point::max());
        co_await p->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        p->idle = false;
        continue;
      }
      consumed_record r = std::move(p->queue.front());
      p->queue.pop_front();
      bool done = false, internal_error = false;
      try {
        done = co_await process(*p, r);
      } catch (const std::exception& x) {
        // Ours, not the handler's (those are caught in process): the record is tried again after
        // a pause, never skipped.
        logger()->error("consumer {}: internal error on {}[{}]@{}: {}; trying the record again", group_, p->topic,
                        p->partition, r.offset(), x.what());
        internal_error = true;
      }
      if (internal_error) {
        p->queue.push_front(std::move(r));
        if (!co_await sleep(*p, cfg_.retry_backoff)) break;
        continue;
      }
      if (!done) break;  // abandoned: this record and the rest stay uncommitted
      if (destroyed_) break;
      p->tracker.done(r.offset());
      finished(*p);
    }
    p->queue.clear();
  }

  // Handles one record; true when it is done (handled, dead-lettered or skipped).
  asio::awaitable<bool> process(partition_state& p, const consumed_record& r) {
    if (const char* why = r.error()) {
      ++stats_.poison;
      const timestamp now = now_utc();
      co_return co_await dead_letter_record(p, r, std::string("librdkafka could not read the record: ") + why, 1, now, now);
    }
    const std::string_view value = r.value();
    if (value.size() > cfg_.max_message_bytes) {
      ++stats_.poison;
      const timestamp now = now_utc();
      co_return co_await dead_letter_record(p, r,
                                            "record of " + std::to_string(value.size()) + " bytes is over max_message_bytes " +
                                                std::to_string(cfg_.max_message_bytes),
                                            1, now, now);
    }
    auto env = parse_envelope(value, envelope_limits{cfg_.max_message_bytes, 32});
    if (!env) {
      ++stats_.poison;
      const timestamp now = now_utc();
      co_return co_await dead_letter_record(p, r, "not a valid envelope: " + env.error().message, 1, now, now);
    }
    const message_handler* handler = routes_.find(env->type, major_version(env->version));
    if (!handler) handler = routes_.fallback_handler();
    if (!handler) {
      const std::string why = "no route for event type \"" + env->type + "\" version \"" + env->version + "\"";
      if (routes_.policy() == unrouted_policy::dead_letter) {
        const timestamp now = now_utc();
        co_return co_await dead_letter_record(p, r, why, 1, now, now);
      }
      ++stats_.skipped;
      logger()->warn("consumer {}: {}: event {} (correlation {}) at {}[{}]@{} committed without handling", group_, why,
                     env->id, env->correlation_id, p.topic, p.partition, r.offset());
      co_return true;
    }

    message_context ctx(r, group_, *env, 1);
    timestamp first_failure{};
    for (int attempt = 1;; ++attempt) {
      ctx.set_attempt(attempt);
      std::exception_ptr failure;
      begin_handler(p);
      // Inside the handler a cancelled coroutine throws at its next co_await, whatever it awaits
      // (the flag belongs to the whole coroutine chain, so it is switched around the call).
      co_await asio::this_coro::throw_if_cancelled(true);
      try {
        co_await (*handler)(*env, ctx);
      } catch (...) {
        failure = std::current_exception();
      }
      co_await asio::this_coro::throw_if_cancelled(false);
      p.handler_running = false;
      const bool timed_out = p.timed_out;
      if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
        co_await asio::this_coro::reset_cancellation_state();
      if (!failure) {  // a handler that finished despite the cancellation did its work
        ++stats_.handled;
        co_return true;
      }
      if (forced_) co_return false;
      ++stats_.failed;
      classified_failure f = classify_handler_failure(failure);
      if (timed_out) {
        ++stats_.timed_out;
        f = {handler_failure::transient, "handler timed out after " + std::to_string(cfg_.handler_timeout.count()) + " ms"};
      }
      const timestamp now = now_utc();
      if (attempt == 1) first_failure = now;
      const failure_decision d = decide(f.kind, attempt, cfg_.max_retries, backoff_, detail::unit_random());
      switch (d.step) {
        case next_step::skip:
          ++stats_.skipped;
          logger()->info("consumer {}: business error on event {} ({}, correlation {}) at {}[{}]@{}: {}; committed",
                         group_, env->id, env->type, env->correlation_id, p.topic, p.partition, r.offset(), f.message);
          co_return true;
        case next_step::dead_letter:
          logger()->warn("consumer {}: event {} ({}, correlation {}) at {}[{}]@{} failed on attempt {}: {}; dead-lettering",
                         group_, env->id, env->type, env->correlation_id, p.topic, p.partition, r.offset(), attempt,
                         f.message);
          co_return co_await dead_letter_record(p, r, f.message, attempt, first_failure, now);
        case next_step::retry:
          if (p.revoked || stopping_) co_return false;  // the next owner (or run) retries it
          ++stats_.retried;
          logger()->info("consumer {}: event {} ({}) at {}[{}]@{} failed on attempt {}: {}; retrying in {} ms", group_,
                         env->id, env->type, p.topic, p.partition, r.offset(), attempt, f.message, d.delay.count());
          if (!co_await sleep(p, d.delay)) co_return false;
          break;
      }
    }
  }

  // The handler timeout: one timer per partition, re-armed only when it fires before the
  // running handler's deadline, so a stream of quick handlers costs no timer operations.
  void begin_handler(partition_state& p) {
    p.handler_running = true;
    p.timed_out = false;
    p.deadline = clock::now() + cfg_.handler_timeout;
    if (!p.deadline_armed) arm_deadline(p);
  }

  static void arm_deadline(partition_state& p) {
    p.deadline_armed = true;
    p.deadline_timer.expires_at(p.deadline);
    p.deadline_timer.async_wait([weak = p.weak_from_this()](error_code ec) {
      auto sp = weak.lock();
      if (!sp) return;
      sp->deadline_armed = false;
      if (ec || !sp->handler_running || sp->revoked) return;
      if (clock::now() < sp->deadline) return arm_deadline(*sp);
      sp->timed_out = true;
      sp->cancel.emit(asio::cancellation_type::terminal);
    });
  }

  // Waits `delay` unless the partition is revoked or the consumer stops; true when it waited.
  asio::awaitable<bool> sleep(partition_state& p, std::chrono::milliseconds delay) {
    p.retry_timer.expires_after(delay);
    auto [ec] = co_await p.retry_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return !ec && !p.revoked && !stopping_;
  }

  // Writes `r` to its DLQ with the failure. A failed write is retried (with backoff) until it
  // succeeds or the partition is given up: the record is never skipped unwritten.
  asio::awaitable<bool> dead_letter_record(partition_state& p, const consumed_record& r, std::string reason, int attempts,
                                           timestamp first_failure, timestamp last_failure) {
    if (!cfg_.dead_letter) {
      ++stats_.skipped;
      logger()->error("consumer {}: record {}[{}]@{} failed ({}) and dead_letter is off: committed without handling",
                      group_, p.topic, p.partition, r.offset(), reason);
      co_return true;
    }
    dead_letter d;
    d.original_topic = p.topic;
    d.original_partition = p.partition;
    d.original_offset = r.offset();
    d.original_key = std::string(r.key());
    d.original_value = std::string(r.value());
    d.error_message = std::move(reason);
    d.attempt_count = attempts;
    d.first_failure = first_failure;
    d.last_failure = last_failure;
    d.consumer_group = group_;
    producer_record out{dlq_topic(p.topic), d.original_key, to_json(d), headers(d)};
    for (auto& h : r.headers())
      if (!h.first.starts_with("kafka_dlt-") && !h.first.starts_with("txova_dlt-")) out.headers.push_back(std::move(h));
    for (int attempt = 1;; ++attempt) {
      auto [ec, del] = co_await dlq().async_send(out, asio::as_tuple(asio::use_awaitable));
      if (!ec) {
        ++stats_.dead_lettered;
        logger()->warn("consumer {}: record {}[{}]@{} written to {} [{}]@{}: {}", group_, p.topic, p.partition, r.offset(),
                       del.topic, del.partition, del.offset, d.error_message);
        co_return true;
      }
      logger()->error("consumer {}: could not write record {}[{}]@{} to {}: {} ({}); retrying", group_, p.topic,
                      p.partition, r.offset(), out.topic, ec.message(), del.error_message);
      if (p.revoked || stopping_ || destroyed_) co_return false;
      if (!co_await sleep(p, backoff_.delay(std::min(attempt, 16)))) co_return false;
    }
  }

  basic_producer<>& dlq() {
    if (!dlq_) {
      producer_config pc;
      if (cfg_.dead_letter_producer) pc = *cfg_.dead_letter_producer;
      else {
        pc.brokers = cfg_.brokers;
        pc.client_id = group_ + "-dlq";
        pc.dead_letter = false;
        pc.max_message_bytes = std::max<std::size_t>(cfg_.max_message_bytes * 2 + 4096, pc.max_message_bytes);
        for (const auto& [k, v] : cfg_.properties)
          if (is_connection_property(k)) pc.properties[k] = v;
      }
      dlq_.emplace(ex_, std::move(pc));
    }
    return *dlq_;
  }

  // ---- commits ----------------------------------------------------------------------------

  // Commits what every partition (not lost) may commit; `only`, when given, limits it to those.
  void commit(const std::vector<partition_state*>* only = nullptr) {
    if (!rk_) return;
    last_commit_ = clock::now();
    partition_list_handle l(rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
    for (const auto& p : partitions_) {
      if (p->lost) continue;
      if (only && std::find(only->begin(), only->end(), p.get()) == only->end()) continue;
      if (auto o = p->tracker.committable())
        rd_kafka_topic_partition_list_add(l.get(), p->topic.c_str(), p->partition)->offset = *o;
    }
    if (l->cnt == 0) return;
    if (const rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), l.get(), 1)) {
      logger()->warn("consumer {}: commit of {} partition(s) refused: {}", group_, l->cnt, rd_kafka_err2str(err));
      return;
    }
    ++commits_in_flight_;
  }

  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<consumer_core*>(opaque);
    if (self->commits_in_flight_ > 0) --self->commits_in_flight_;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      logger()->warn("consumer {}: offset commit failed: {}", self->group_, rd_kafka_err2str(err));
    // A failed partition sets the overall error too: the others were still committed.
    if (offsets) {
      if (!err) ++self->stats_.commits;
      for (int i = 0; i < offsets->cnt; ++i) {
        const auto& e = offsets->elems[i];
        if (e.err) {
          logger()->warn("consumer {}: commit of {}[{}]@{} failed: {}", self->group_, e.topic, e.partition, e.offset,
                         rd_kafka_err2str(e.err));
          continue;
        }
        if (partition_state* p = self->find(e.topic, e.partition)) p->tracker.committed(e.offset);
      }
    }
    self->notify();
  }

  // ---- rebalances -------------------------------------------------------------------------

  static void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<consumer_core*>(opaque)->rebalance(err, parts);
  }

  bool cooperative() const {
    const char* p = rd_kafka_rebalance_protocol(rk_.get());
    return p && std::strcmp(p, "COOPERATIVE") == 0;
  }

  std::string describe_partitions(const rd_kafka_topic_partition_list_t* parts) const {
    std::string s;
    for (int i = 0; i < parts->cnt; ++i) {
      if (i) s += ", ";
      s += std::string(parts->elems[i].topic) + "[" + std::to_string(parts->elems[i].partition) + "]";
    }
    return s;
  }

  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    ++stats_.rebalances;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      logger()->info("consumer {}: assigned {}", group_, describe_partitions(parts));
      for (int i = 0; i < parts->cnt; ++i) {
        auto p = std::make_shared<partition_state>(ex_, parts->elems[i].topic, parts->elems[i].partition,
                                                   cfg_.max_poll_records);
        partitions_.push_back(p);
        if (dispatcher_ && !stopping_) start_worker(p);
      }
      last_found_ = nullptr;
      if (cooperative()) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_.get(), parts)) {
          logger()->error("consumer {}: incremental assign failed: {}", group_, rd_kafka_error_string(e));
          rd_kafka_error_destroy(e);
        }
      } else if (const rd_kafka_resp_err_t e = rd_kafka_assign(rk_.get(), parts)) {
        logger()->error("consumer {}: assign failed: {}", group_, rd_kafka_err2str(e));
      }
      // A partition held under an earlier assignment keeps librdkafka's "forwarded by the
      // application" flag, and fetch start then no longer forwards it: forward it ourselves.
      for (int i = 0; i < parts->cnt; ++i) {
        queue_handle q(rd_kafka_queue_get_partition(rk_.get(), parts->elems[i].topic, parts->elems[i].partition));
        if (q) rd_kafka_queue_forward(q.get(), queue_.get());
      }
      return;
    }
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      logger()->error("consumer {}: rebalance error: {}", group_, rd_kafka_err2str(err));
      revoke(parts, true);
      return;
    }
    revoke(parts, rd_kafka_assignment_lost(rk_.get()) != 0);
  }

  // Stops dispatching the revoked partitions at once; their in-flight handlers finish (bounded
  // by the handler timeout), then their offsets are committed and they are released.
  void revoke(rd_kafka_topic_partition_list_t* parts, bool lost) {
    logger()->info("consumer {}: {} {}", group_, lost ? "lost" : "revoked", describe_partitions(parts));
    std::vector<partition_ptr> revoked;
    for (int i = 0; i < parts->cnt; ++i)
      for (auto& p : partitions_)
        if (p->partition == parts->elems[i].partition && p->topic == parts->elems[i].topic) {
          p->revoked = true;
          p->lost = lost;
          revoked.push_back(p);
        }
    drop_waiting_records([](const partition_state& p) { return p.revoked; });
    // Names, not a librdkafka list: a list holds partition references, which must not outlive
    // the client should the consumer be destroyed meanwhile.
    std::vector<std::pair<std::string, std::int32_t>> names;
    for (int i = 0; i < parts->cnt; ++i) names.emplace_back(parts->elems[i].topic, parts->elems[i].partition);
    asio::co_spawn(ex_, finish_revoke(std::move(revoked), std::move(names)), asio::detached);
  }

  // Records fetched or queued but not started are dropped undone (never committed).
  template <class Pred>
  void drop_waiting_records(Pred which) {
    std::erase_if(buffer_, [&](const auto& e) { return which(*e.first); });
    for (auto& p : partitions_) {
      if (!which(*p)) continue;
      p->queue.clear();
      p->retry_timer.cancel();
      if (p->idle) p->wake.cancel();
    }
  }

  asio::awaitable<void> finish_revoke(std::vector<partition_ptr> revoked,
                                      std::vector<std::pair<std::string, std::int32_t>> names) {
    auto self = shared_from_this();
    const auto idle = [&] {
      return std::none_of(revoked.begin(), revoked.end(), [](const auto& p) { return p->worker_running || p->with_user > 0; });
    };
    const auto limit = cfg_.handler_timeout + std::chrono::seconds(1);
    if (!co_await wait_until(idle, clock::now() + limit)) {
      logger()->warn("consumer {}: handlers of revoked partitions still running after {} ms: cancelling them", group_,
                     limit.count());
      for (auto& p : revoked) {
        p->with_user = 0;
        p->cancel.emit(asio::cancellation_type::terminal);
      }
      co_await wait_until(idle, clock::now() + std::chrono::seconds(2));
    }
    if (destroyed_) co_return;
    std::vector<partition_state*> only;
    for (auto& p : revoked)
      if (!p->lost) only.push_back(p.get());
    if (!only.empty()) {
      commit(&only);
      const auto committed = [&] {
        return std::none_of(only.begin(), only.end(), [](partition_state* p) { return p->tracker.committable().has_value(); });
      };
      if (!co_await wait_until(committed, clock::now() + std::chrono::seconds(10), std::chrono::milliseconds(50)))
        logger()->warn("consumer {}: final commit of revoked partitions did not complete within 10 s", group_);
    }
    if (destroyed_) co_return;
    for (auto& p : revoked) {
      p->deadline_timer.cancel();
      release_queue(*p);
      std::erase(partitions_, p);
    }
    last_found_ = nullptr;
    if (cooperative()) {
      partition_list_handle parts(rd_kafka_topic_partition_list_new(static_cast<int>(names.size())));
      for (const auto& [t, n] : names) rd_kafka_topic_partition_list_add(parts.get(), t.c_str(), n);
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_.get(), parts.get())) {
        logger()->error("consumer {}: incremental unassign failed: {}", group_, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk_.get(), nullptr);
    }
    pump_->poke();
  }

  // A held partition's queue goes back to forwarding into the consumer queue (where a later
  // assignment of it starts); records still in it arrive there and are dropped undone.
  void release_queue(partition_state& p) {
    if (p.fetched && queue_) rd_kafka_queue_forward(p.fetched.get(), queue_.get());
    p.fetched.reset();
  }

  // ---- waiting for state changes ------------------------------------------------------------

  // Waits until `done()` or `deadline`; re-checks on every notify() (and every `poll` when set,
  // for conditions nothing notifies). True when done.
  template <class Cond>
  asio::awaitable<bool> wait_until(Cond done, clock::time_point deadline,
                                   std::chrono::milliseconds poll = std::chrono::milliseconds(0)) {
    asio::steady_timer t(ex_);
    while (!done()) {
      const auto now = clock::now();
      if (now >= deadline || destroyed_) co_return false;
      t.expires_at(poll.count() > 0 ? std::min(deadline, now + poll) : deadline);
      watchers_.push_back(&t);
      // Erased even when the frame is destroyed while suspended (an io_context torn down).
      struct unwatch {
        std::vector<asio::steady_timer*>& w;
        asio::steady_timer* t;
        ~unwatch() { std::erase(w, t); }
      } guard{watchers_, &t};
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return true;
  }

  void notify() {
    for (auto* t : watchers_) t->cancel();
  }

  void force() {
    forced_ = true;
    for (auto& p : partitions_) {
      p->with_user = 0;  // records()-mode records not marked done by now are given up (never committed)
      p->queue.clear();
      p->retry_timer.cancel();
      p->cancel.emit(asio::cancellation_type::terminal);
    }
    notify();
  }

  // ---- graceful shutdown ----------------------------------------------------------------------

  asio::awaitable<error_code> shutdown() {
    auto self = shared_from_this();
    bool clean = true;
    const auto idle = [this] {
      return std::none_of(partitions_.begin(), partitions_.end(),
                          [](const auto& p) { return p->worker_running || p->with_user > 0; });
    };
    if (!co_await wait_until(idle, clock::now() + cfg_.shutdown_timeout)) {
      if (destroyed_) co_return error_code(asio::error::operation_aborted);
      logger()->warn("consumer {}: handlers still running at the shutdown deadline ({} ms): cancelling them", group_,
                     cfg_.shutdown_timeout.count());
      clean = false;
      force();
      co_await wait_until(idle, clock::now() + std::chrono::seconds(2));
    }
    if (destroyed_) co_return error_code(asio::error::operation_aborted);
    commit();
    const auto committed = [this] {
      return commits_in_flight_ == 0 &&
             std::none_of(partitions_.begin(), partitions_.end(),
                          [](const auto& p) { return !p->lost && p->tracker.committable().has_value(); });
    };
    if (!co_await wait_until(committed, clock::now() + std::chrono::seconds(10), std::chrono::milliseconds(50))) {
      logger()->warn("consumer {}: final commit did not complete within 10 s; those records will be redelivered", group_);
      clean = false;
    }
    if (destroyed_) co_return error_code(asio::error::operation_aborted);
    // Leave the group: the revocation this causes is served by our drain like any other.
    bool closing = true;
    if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_.get(), queue_.get())) {
      logger()->warn("consumer {}: close: {}", group_, rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
      closing = false;  // not started (a fatal error): nothing to wait for
      clean = false;
    }
    pump_->poke();
    const auto left = [this, closing] { return !closing || rd_kafka_consumer_closed(rk_.get()) != 0; };
    const auto leave_limit = std::max<std::chrono::milliseconds>(cfg_.session_timeout, std::chrono::seconds(10));
    if (!co_await wait_until(left, clock::now() + leave_limit, std::chrono::milliseconds(10))) {
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
    for (auto& p : partitions_) release_queue(*p);
    pump_->stop();
    logger()->info("consumer {}: stopped{}", group_, clean ? "" : " (not cleanly, see the warnings above)");
    co_return clean ? error_code{} : make_error_code(error::timed_out);
  }

  // ---- librdkafka's other callbacks -----------------------------------------------------------

  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<consumer_core*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
      self->fatal_ = std::string(rd_kafka_err2name(orig)) + ": " + buf;
      logger()->error("consumer {}: fatal error, stopping: {}", self->group_, self->fatal_);
      self->stop();
      return;
    }
    logger()->warn("consumer {}: {}: {}", self->group_, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                   reason ? reason : "");
  }

  // Called on librdkafka's threads: touches only the (thread-safe) logger.
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    log_librdkafka(rd_kafka_name(rk), level, fac, buf);
  }

  static int on_statistics(rd_kafka_t*, char* json, std::size_t len, void* opaque) {
    auto* self = static_cast<consumer_core*>(opaque);
    for (const auto& s : parse_partition_statistics(std::string_view(json, len)))
      if (partition_state* p = self->find(s.topic, s.partition)) p->stats_lag = s.consumer_lag;
    return 0;  // librdkafka frees the JSON
  }

  // ---- completions ----------------------------------------------------------------------------

  template <class Handler>
  static Handler take(Handler& h) {
    Handler out;
    out.swap(h);
    return out;
  }

  // Never inline: the handler may resume a coroutine that calls back into the consumer.
  template <class Handler, class... Args>
  void complete(Handler h, Args... args) {
    auto hex = asio::get_associated_executor(h, ex_);
    auto fn = asio::bind_executor(hex, [h = std::move(h), ... args = std::move(args)]() mutable { std::move(h)(std::move(args)...); });
    asio::post(ex_, [fn = std::move(fn)]() mutable {
      auto e = asio::get_associated_executor(fn);
      asio::dispatch(e, std::move(fn));
    });
  }

  asio::any_io_executor ex_;
  consumer_config cfg_;
  std::string group_;
  backoff_policy backoff_;
  router routes_;
  std::shared_ptr<rd_kafka_t> rk_;
  queue_handle queue_;
  std::unique_ptr<event_pump> pump_;
  std::optional<basic_producer<>> dlq_;  // created at the first dead letter
  asio::steady_timer tick_;
  asio::steady_timer dispatch_wake_;
  std::vector<partition_ptr> partitions_;
  partition_state* last_found_ = nullptr;
  std::deque<std::pair<partition_state*, consumed_record>> buffer_;  // fetched, not yet dispatched
  record_handler record_waiter_;
  std::vector<asio::steady_timer*> watchers_;
  clock::time_point last_poll_{};
  clock::time_point last_commit_{};
  consumer_stats stats_;
  std::size_t commits_in_flight_ = 0;
  std::string fatal_;
  bool started_ = false;
  bool ran_ = false;
  bool dispatcher_ = false;    // async_run dispatches to the workers
  bool records_mode_ = false;  // records() hands records to the caller
  bool stopping_ = false;
  bool forced_ = false;
  bool closed_ = false;
  bool destroyed_ = false;
};

std::shared_ptr<consumer_core> make_consumer_core(boost::asio::any_io_executor ex, consumer_config cfg) {
  return std::make_shared<consumer_core>(std::move(ex), std::move(cfg));
}
router& routes(consumer_core& c) { return c.routes(); }
void start_run(consumer_core& c, run_handler h) { c.run(std::move(h)); }
void start_next_record(consumer_core& c, record_handler h) { c.next_record(std::move(h)); }
void mark_done(consumer_core& c, const consumed_record& r) { c.mark_done(r); }
void start_health_check(consumer_core& c, consumer_health_handler h) { c.health_check(std::move(h)); }
void stop(consumer_core& c) { c.stop(); }
consumer_stats stats(const consumer_core& c) { return c.stats(); }
std::vector<partition_lag> lag(const consumer_core& c) { return c.lag(); }
void destroy(consumer_core& c) noexcept { c.destroy(); }

}  // namespace detail
}  // namespace txova::kafka
