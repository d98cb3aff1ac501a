#pragma once
// The producer's logic over a producer_port (librdkafka's, src/producer_wire.cpp, or a fake):
// pending publishes driven by their publish_fsm, the queue of publishes waiting for room in
// librdkafka's queue, cancellation, flush, close and health. Used only from its executor.
#include <txova/kafka/middleware.hpp>
#include <txova/kafka/producer.hpp>

#include <txova/kafka/detail/completion_queue.hpp>
#include <txova/kafka/detail/producer_port.hpp>
#include <txova/kafka/detail/publish_fsm.hpp>
#include <txova/kafka/detail/security_failure.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>

#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka::detail {

// What a publish sends and what its headers, logs and DLQ record need; filled at the call to
// async_publish (so the caller's envelope is read once and never copied).
struct publish_fields {
  std::string value;  // librdkafka points at key and value until the delivery report (no copy)
  std::string key;
  bool has_key = true;
  bool has_value = true;  // raw records may be tombstones
  std::optional<std::int32_t> partition;
  std::string topic;
  std::string id, type, version, source, correlation_id;
  timestamp time{};
  // A raw record (async_send) is sent with exactly these headers, and is never dead-lettered
  // itself (it usually is a dead letter).
  bool raw = false;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<trace_context> trace;  // the caller's, then a tracing observer's send span
  // The observers this publish began with, and what each keeps until after() (then null/empty).
  std::shared_ptr<const std::vector<std::shared_ptr<publish_observer>>> observers;
  std::vector<observer_scope> scopes;

  // Member by member: std::swap's three moves would copy the inline trace three times.
  friend void swap(publish_fields& a, publish_fields& b) noexcept {
    using std::swap;
    swap(a.value, b.value);
    swap(a.key, b.key);
    swap(a.has_key, b.has_key);
    swap(a.has_value, b.has_value);
    swap(a.partition, b.partition);
    swap(a.topic, b.topic);
    swap(a.id, b.id);
    swap(a.type, b.type);
    swap(a.version, b.version);
    swap(a.source, b.source);
    swap(a.correlation_id, b.correlation_id);
    swap(a.time, b.time);
    swap(a.raw, b.raw);
    swap(a.headers, b.headers);
    if (a.trace || b.trace) swap(a.trace, b.trace);
    swap(a.observers, b.observers);
    swap(a.scopes, b.scopes);
  }
};

/// One of the six headers a publish writes from its envelope (event-id, event-type,
/// correlation-id, schema-version, source, timestamp): callers and middleware cannot set them.
bool is_envelope_header(std::string_view name) noexcept;

class prepared_pool;

// Validated and encoded, or the reason it must not be sent.
struct prepared_publish : publish_fields {
  diagnostic error;
  bool counted = false;  // a detached publish counted against max_detached_waiting
  std::shared_ptr<prepared_pool> home;  // where prepared_deleter returns it

  // Back to a fresh state, keeping the strings' capacity.
  void reset() noexcept;
};

// Prepared publishes to reuse, with their strings' capacity: at steady state a publish then
// allocates no record and no string for its id, correlation id, topic or encoded value. The
// strings circulate: make_op swaps a prepared publish's fields with those of the pending-publish
// node it reuses, and the node's old strings come back here. Filled on the caller's thread,
// returned on the producer's strand: hence the mutex (uncontended on one thread).
class prepared_pool {
public:
  static constexpr std::size_t max_kept = 4096;
  ~prepared_pool();
  prepared_publish* take();
  void give(prepared_publish* p) noexcept;

private:
  std::mutex m_;
  std::vector<prepared_publish*> free_;
};

class producer_core final : public std::enable_shared_from_this<producer_core>, private producer_events {
public:
  /// `ex`: the executor handlers complete on when they have none; `strand`: where everything of
  /// the producer runs (a strand of `ex`, so a multi-threaded io_context cannot race it).
  producer_core(boost::asio::any_io_executor ex, boost::asio::strand<boost::asio::any_io_executor> strand,
                producer_config cfg, std::unique_ptr<producer_port> port);
  ~producer_core();

  prepared_ptr prepare_one(const envelope& e, const publish_options& opt);
  prepared_ptr prepare_raw(producer_record r);
  prepared_ptr prepare_failed(std::string_view type, diagnostic why);
  prepared_ptr prepare_checked(const envelope& e, std::string key, const publish_options& opt, const trace_context* trace);
  // The public operations hop onto the strand (at once when already on it, or on one thread).
  void publish(prepared_ptr p, publish_handler h);
  /// Adds a middleware around every later publish (any thread; producer_middleware.cpp).
  void use(producer_middleware mw);
  void use(std::shared_ptr<publish_observer> o);
  void publish_batch(std::vector<envelope> envelopes, batch_handler h);
  boost::system::error_code publish_detached(prepared_ptr p, publish_handler h);
  void flush(std::chrono::milliseconds timeout, flush_handler h);
  void close(std::chrono::milliseconds timeout, close_handler h);
  void health_check(std::chrono::milliseconds timeout, health_handler h);
  producer_stats stats() const;  // any thread
  const producer_config& config() const noexcept { return cfg_; }
  /// From the producer's destructor: on the strand, now or as soon as it is free.
  void destroy_soon() noexcept;
  void destroy() noexcept;

private:
  struct publish_op : publish_fields {
    publish_op(const publish_policy& policy, bool dead_letter) : fsm(policy, dead_letter) {}
    // A node from spare_ops_ made new (its strings were swapped away in make_op).
    void renew(const publish_policy& policy, bool dlq_allowed) noexcept;
    publish_fsm fsm;
    publish_handler handler;
    bool detached = false;
    bool counted_waiting = false;  // counts against max_detached_waiting
    bool in_librdkafka = false;  // a delivery report will come
    bool waiting_for_room = false;
    bool timer_pending = false;  // a backoff timer's handler will still run and look at the op
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::int32_t partition_stored = -1;
    std::int64_t offset_stored = -1;
    std::int64_t timestamp_ms = -1;
    timestamp first_failure{}, last_failure{};
    std::optional<producer_record> dead_letter;  // built when the DLQ is first needed
    std::list<publish_op>::iterator self;
  };
  using op_ptr = publish_op*;

  struct flush_waiter {
    explicit flush_waiter(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    flush_handler handler;
    boost::asio::steady_timer timer;
  };
  struct health_waiter {
    explicit health_waiter(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    health_handler handler;
    boost::asio::steady_timer timer;
    std::chrono::steady_clock::time_point started;
    std::chrono::milliseconds timeout{0};
  };

  // producer_events (from the port, on the executor)
  void on_delivery(const delivery_report& r) override;
  void on_room() override;
  void on_client_error(boost::system::error_code ec, std::string_view text, bool fatal) override;
  void on_probe_result(std::uint64_t id, boost::system::error_code ec, std::string_view detail) override;

  template <class F>
  void on_strand(F&& f) {
    boost::asio::dispatch(strand_, std::forward<F>(f));
  }
  void publish_now(prepared_ptr p, publish_handler h, bool detached);
  // Through the middleware chain (producer_middleware.cpp); the innermost step is publish_now.
  bool through_middleware(const prepared_publish& p) const noexcept;
  void publish_through(prepared_ptr p, publish_handler h, bool detached);
  struct middleware_chain;
  static boost::asio::awaitable<publish_result> chain_step(producer_core* core, middleware_chain* s, std::size_t i);
  void flush_now(std::chrono::milliseconds timeout, flush_handler h);

  // the publish path (producer_core.cpp)
  diagnostic prepare(publish_fields& f, const envelope& e, const publish_options& opt, bool payload_checked = false,
                     const trace_context* trace = nullptr);
  op_ptr make_op(publish_handler h, prepared_publish&& p);
  void submit(op_ptr op);
  void apply(op_ptr op, const publish_fsm::action& a);
  void produce(op_ptr op);
  producer_port::outcome send(op_ptr op, boost::system::error_code& ec, std::string& text);
  void handle_send(op_ptr op, producer_port::outcome r, boost::system::error_code ec, std::string text);
  void retry_room_waiters();
  void start_backoff(op_ptr op, std::chrono::milliseconds delay);
  void connect_cancellation(op_ptr op);
  void answer(op_ptr op);
  void finished(op_ptr op);
  void fail_now(op_ptr op, boost::system::error_code ec, const std::string& message);
  void forget(op_ptr op);
  void uncount_waiting(publish_op& op);
  bool dead_letter_possible(const boost::system::error_code& ec, const publish_op& op) const;
  void build_dead_letter(publish_op& op);
  std::string current_topic(const publish_op& op) const;
  void log_failure(const publish_op& op, std::string_view what, const std::string& why) const;
  void update_activity();
  const diagnostic* recent_security_failure() const;

  // flush, close, health (producer_lifecycle.cpp)
  void check_flush_waiters();
  void finish_flush(flush_waiter& w, boost::system::error_code ec);
  void finish_health(health_waiter& w, boost::system::error_code ec, health_report r);
  void send_probe();

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::any_io_executor ex_;  // strand_, for timers and posts
  producer_config cfg_;
  publish_policy policy_;
  topic_map routes_;  // config.routes, or the catalog's topics: built once, not per publish
  completion_queue completions_;
  std::unique_ptr<producer_port> port_;
  std::string header_scratch_;
  std::vector<header_view> header_views_;
  std::list<publish_op> ops_;
  std::list<publish_op> spare_ops_;  // finished nodes to reuse (make_op splices them back): no node allocation per publish
  static constexpr std::size_t max_spare_ops = 4096;
  std::shared_ptr<prepared_pool> prepared_pool_ = std::make_shared<prepared_pool>();
  // The chain as of each publish's start: replaced whole by use(), read under the mutex.
  mutable std::mutex middleware_mutex_;
  std::shared_ptr<const std::vector<producer_middleware>> middleware_;
  std::atomic<bool> has_middleware_{false};
  std::shared_ptr<const std::vector<std::shared_ptr<publish_observer>>> observers_;  // under middleware_mutex_
  std::atomic<bool> has_observers_{false};
  // before() of each observer, on the caller's thread; after() in reverse, once, then forgets them.
  void begin_observers(publish_fields& f);
  static void end_observers(const publish_call& call, publish_fields& f, const publish_result& r) noexcept;
  prepared_ptr take_prepared();
  std::deque<op_ptr> room_waiters_;
  std::atomic<std::size_t> detached_waiting_{0};
  std::vector<std::shared_ptr<flush_waiter>> flush_waiters_;
  std::vector<std::shared_ptr<health_waiter>> health_waiters_;
  std::optional<std::uint64_t> probe_in_flight_;  // one probe at a time
  std::chrono::steady_clock::time_point probe_sent_{};
  std::uint64_t next_probe_ = 1;
  // Read by stats() from any thread, so atomic; everything else is touched on strand_ only.
  struct counters {
    std::atomic<std::uint64_t> sent{0}, failed{0}, retried{0}, dead_lettered{0}, cancelled{0}, failed_after_cancel{0},
        rejected{0};
  };
  std::atomic<std::size_t> in_flight_{0};  // publishes whose caller has not been answered
  std::atomic<std::size_t> waiting_{0};    // room_waiters_.size()
  std::atomic<bool> fatal_flag_{false};
  std::atomic<std::size_t> queue_depth_{0};  // librdkafka's, as last seen on the strand
  counters stats_;
  close_report close_report_;
  boost::system::error_code last_client_error_;
  std::string last_client_error_text_;
  std::string fatal_;  // the fatal error's description: nothing can be sent any more
  // The brokers refused the login (or TLS, or the protocol): publishes fail at once with it for
  // security_failure_window, or until a delivery succeeds.
  std::optional<diagnostic> security_failure_;
  std::chrono::steady_clock::time_point security_failure_at_{};
  bool delivered_once_ = false;  // a broker has taken a record: its listener speaks our protocol
  bool closing_ = false;
  bool destroyed_ = false;
};

}  // namespace txova::kafka::detail
