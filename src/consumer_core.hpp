#pragma once
// The consumer's logic over a consumer_port (librdkafka's, src/consumer_wire.cpp, or a fake).
// One consumer_core per consumer, used only from its executor.
//
// Flow of a record:
//   port (librdkafka's consumer queue, drained on the executor) --on_record-->
//   buffer_ (the generator's buffer) --dispatcher (async_run)--> partition_state::queue -->
//   worker coroutine of that partition (its strand) --> handler, raced against the timeout,
//   retried, dead-lettered --> partition_fsm::done --> committed on the tick / revoke / stop.
//
// Files: consumer_core.cpp (start, run, records(), stop, shutdown, health), consumer_dispatch.cpp
// (workers, handler calls and their deadline), consumer_rebalance.cpp (assign, revoke, commits),
// consumer_dead_letter.cpp (DLQ writes and their failure policy), consumer_wire.cpp (librdkafka).
#include <txova/kafka/consumer.hpp>

#include <txova/kafka/detail/completion_queue.hpp>
#include <txova/kafka/detail/consumer_port.hpp>
#include <txova/kafka/detail/partition_fsm.hpp>
#include <txova/kafka/detail/producer_port.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <mutex>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace txova::kafka::detail {

using consumer_clock = std::chrono::steady_clock;

// One assigned partition: its lifecycle, its strand (the worker) and what the worker waits on.
struct partition_state : std::enable_shared_from_this<partition_state> {
  partition_state(const boost::asio::any_io_executor& ex, std::string t, std::int32_t p, std::size_t limit)
      : topic(std::move(t)), partition(p), fsm(limit), wake(ex), deadline_timer(ex), retry_timer(ex) {}

  std::string topic;
  std::int32_t partition;
  partition_fsm fsm;
  std::deque<consumed_record> queue;       // handed to this strand, not started
  boost::asio::steady_timer wake;          // the idle worker waits here
  boost::asio::steady_timer deadline_timer;  // the handler timeout; armed at most once per timeout period
  boost::asio::steady_timer retry_timer;   // backoff between attempts and between DLQ writes
  boost::asio::cancellation_signal cancel;  // cancels whatever the worker awaits (the handler)
  consumer_clock::time_point deadline{};
  bool handler_running = false;
  bool deadline_armed = false;
  bool timed_out = false;
  bool worker_running = false;
  bool idle = false;
  std::int64_t stats_lag = -1;
  std::int64_t end_offset = -1;        // where librdkafka last reported the partition's end
  std::uint64_t finished = 0;          // records finished, ever
  std::vector<observer_scope> scopes;   // the observers' per attempt (one attempt at a time per partition)
  std::uint64_t finished_at_look = 0;  // `finished` when the hold timer last looked at it
  std::string stuck;        // why its DLQ write keeps failing (keep_retrying policy), else empty
  std::string fetch_error;  // a partition-level error librdkafka reports, until records flow again
  consumer_probe::verdict verdict{};  // with a probe: how the current record finished, and why
  std::string verdict_reason;
  int handler_calls = 0;  // on the record being processed
};
using partition_ptr = std::shared_ptr<partition_state>;

/// How often the consumer commits and polls: the commit interval, at most a second.
std::chrono::milliseconds tick_interval(const consumer_config& cfg);

class consumer_core final : public std::enable_shared_from_this<consumer_core>, private consumer_events {
public:
  /// `ex`: the executor handlers complete on when they have none; `strand`: where everything of
  /// the consumer runs (a strand of `ex`, so a multi-threaded io_context cannot race it).
  consumer_core(boost::asio::any_io_executor ex, boost::asio::strand<boost::asio::any_io_executor> strand,
                consumer_config cfg, std::unique_ptr<consumer_port> port, std::unique_ptr<producer_port> dead_letter_port);
  ~consumer_core();

  router& routes() { return routes_; }
  void use(consumer_middleware mw);
  void use(std::shared_ptr<handler_observer> o);
  void run(run_handler h);
  void next_record(record_handler h);
  void mark_done(const consumed_record& r);
  void abandon(const consumed_record& r);
  void stop();
  void health_check(consumer_health_handler h);
  consumer_stats stats() const;  // any thread
  std::vector<partition_lag> lag() const;
  /// lag() as of the last tick, from any thread; the first call asks the ticks to keep it.
  std::vector<partition_lag> lag_snapshot() const;
  const std::string& group() const noexcept { return group_; }
  diagnostic failure() const;  // any thread
  void destroy_soon() noexcept;
  void destroy() noexcept;

private:
  // consumer_events (from the port, on the executor)
  void on_record(consumed_record r) override;
  void on_partition_end(std::string_view topic, std::int32_t partition, std::int64_t offset) override;
  void on_partition_error(std::string_view topic, std::int32_t partition, boost::system::error_code ec,
                          std::string_view text) override;
  void on_assigned(std::vector<topic_partition> parts) override;
  void on_revoked(std::vector<topic_partition> parts, bool lost) override;
  void on_commit_result(boost::system::error_code ec, std::vector<partition_offset> offsets) override;
  void on_client_error(boost::system::error_code ec, std::string_view text, bool fatal) override;
  void on_statistics(std::string_view json) override;
  void on_internal_error(std::string_view where, std::string_view what) override;

  // consumer_core.cpp
  bool start();
  void arm_tick();
  void hand_out();
  boost::asio::awaitable<boost::system::error_code> run_coro();
  boost::asio::awaitable<boost::system::error_code> shutdown();
  void fail(diagnostic d);  // stops the consumer with an error
  void force();
  template <class Cond>
  boost::asio::awaitable<bool> wait_until(Cond done, consumer_clock::time_point deadline,
                                          std::chrono::milliseconds poll = std::chrono::milliseconds(0));
  void notify();

  // consumer_dispatch.cpp
  partition_state* find(std::string_view topic, std::int32_t partition);
  void start_worker(const partition_ptr& p);
  boost::asio::awaitable<void> worker(partition_ptr p);
  boost::asio::awaitable<bool> process(partition_state& p, const consumed_record& r);
  boost::asio::awaitable<bool> handle(partition_state& p, const consumed_record& r, const envelope& env,
                                      const message_handler& handler);
  boost::system::result<envelope, diagnostic> read_envelope(const consumed_record& r) const;
  void note_actor_type(const std::string& type);
  void begin_handler(partition_state& p);
  static void arm_deadline(partition_state& p);
  boost::asio::awaitable<bool> sleep(partition_state& p, std::chrono::milliseconds delay);
  void record_done(partition_state& p, std::int64_t offset);
  void record_abandoned(partition_state& p);
  void note(partition_state& p, consumer_probe::verdict v, std::string_view why = {}) {
    if (probe_) p.verdict = v, p.verdict_reason = why;
  }

  // consumer_rebalance.cpp
  void perform(partition_state& p, const partition_fsm::action& a, std::vector<partition_offset>* commits = nullptr);
  void drop_queued(partition_state& p);
  void arm_hold_timer();
  boost::asio::awaitable<void> finish_revoke(std::vector<partition_ptr> revoked, std::vector<topic_partition> parts);
  void commit(const std::vector<partition_state*>* only = nullptr);
  void send_commits(std::vector<partition_offset> offsets);

  // consumer_dead_letter.cpp
  boost::asio::awaitable<bool> write_dead_letter(partition_state& p, const consumed_record& r, std::string reason,
                                                  int attempts, timestamp first_failure, timestamp last_failure);
  basic_producer<>& dlq();

  template <class F>
  void on_strand(F&& f) {
    boost::asio::dispatch(strand_, std::forward<F>(f));
  }
  void partition_erased(const partition_state& p);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::any_io_executor ex_;  // strand_
  consumer_config cfg_;
  std::string group_;
  mutable std::mutex lag_mutex_;
  std::vector<partition_lag> lag_snapshot_;  // under lag_mutex_
  mutable std::atomic<bool> lag_watched_{false};
  backoff_policy backoff_;
  router routes_;
  completion_queue completions_;
  std::unique_ptr<consumer_port> port_;
  std::unique_ptr<producer_port> dead_letter_port_;
  consumer_probe* probe_ = nullptr;  // the test kit's (port_->probe()); null otherwise  // for the DLQ producer; null: librdkafka's
  std::optional<basic_producer<>> dlq_;              // created at the first dead letter
  std::size_t dlq_max_bytes_ = 0;                    // its max_message_bytes: dead letters are cut to fit
  boost::asio::steady_timer tick_;
  boost::asio::steady_timer dispatch_wake_;
  boost::asio::steady_timer hold_timer_;  // while partitions are held: trims what they prefetch
  bool hold_timer_armed_ = false;
  std::vector<partition_ptr> partitions_;
  partition_state* last_found_ = nullptr;
  std::deque<std::pair<partition_state*, consumed_record>> buffer_;  // fetched, not yet dispatched
  record_handler record_waiter_;
  std::vector<consumer_middleware> middleware_;  // outermost first; fixed once running
  std::vector<std::shared_ptr<handler_observer>> observers_;  // outside the middleware; fixed once running
  void observe_before(partition_state& p, const envelope& e, message_context& ctx) noexcept;
  void observe_after(partition_state& p, const envelope& e, message_context& ctx, const std::exception_ptr& failure) noexcept;
  // The handler through middleware_[i...]; the handler itself past the last one.
  boost::asio::awaitable<void> call_handler(const message_handler& h, const envelope& e, message_context& ctx, std::size_t i);
  std::vector<run_handler> shutdown_waiters_;      // async_run in records() mode: the end of shutdown
  std::optional<boost::system::error_code> shutdown_result_;
  std::vector<boost::asio::steady_timer*> watchers_;
  consumer_clock::time_point last_commit_{};
  // Read by stats() from any thread, so atomic; everything else is touched on strand_ only.
  struct counters {
    std::atomic<std::uint64_t> received{0}, handled{0}, failed{0}, timed_out{0}, retried{0}, dead_lettered{0}, poison{0},
        skipped{0}, tombstones{0}, partition_errors{0}, dead_letter_failures{0}, trimmed{0}, commits{0}, rebalances{0},
        unknown_actor_types{0}, malformed_traceparents{0};
  };
  counters stats_;
  std::atomic<std::size_t> assigned_{0}, in_flight_{0}, held_{0}, stuck_{0};
  std::size_t commits_in_flight_ = 0;
  std::string fatal_;
  diagnostic failure_;  // why the consumer stopped on its own (DLQ unwritable, internal error)
  mutable std::mutex failure_mutex_;  // failure() may be asked from any thread
  std::set<std::string> seen_actor_types_;  // logged once each
  bool brokers_down_ = false;
  std::string brokers_down_reason_;
  bool started_ = false;
  bool ran_ = false;
  bool dispatcher_ = false;    // async_run dispatches to the workers
  bool records_mode_ = false;  // records() hands records to the caller
  bool stopping_ = false;
  bool forced_ = false;
  bool closed_ = false;
  bool destroyed_ = false;
};

// Waits until `done()` or `deadline`; re-checks on every notify() (and every `poll` when set,
// for conditions nothing notifies). True when done.
template <class Cond>
boost::asio::awaitable<bool> consumer_core::wait_until(Cond done, consumer_clock::time_point deadline,
                                                       std::chrono::milliseconds poll) {
  boost::asio::steady_timer t(ex_);
  while (!done()) {
    const auto now = consumer_clock::now();
    if (now >= deadline || destroyed_) co_return false;
    t.expires_at(poll.count() > 0 ? std::min(deadline, now + poll) : deadline);
    watchers_.push_back(&t);
    // Erased even when the frame is destroyed while suspended (an io_context torn down).
    struct unwatch {
      std::vector<boost::asio::steady_timer*>& w;
      boost::asio::steady_timer* t;
      ~unwatch() { std::erase(w, t); }
    } guard{watchers_, &t};
    co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  co_return true;
}

}  // namespace txova::kafka::detail
