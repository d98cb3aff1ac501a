// The event log service's loop (event_logger.hpp): records() of a consumer, batched into the
// store; a flush timer stores a batch that stopped growing; pruning runs between batches.
#include <txova/kafka/event_logger.hpp>

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <optional>

namespace txova::kafka::detail {

namespace asio = boost::asio;
using boost::system::error_code;

class event_logger_core : public std::enable_shared_from_this<event_logger_core> {
public:
  event_logger_core(asio::any_io_executor ex, event_log_store& store, event_logger_config cfg)
      : ex_(std::move(ex)), store_(store), cfg_(std::move(cfg)), flush_timer_(ex_) {
    consumer_config& c = cfg_.source;
    if (c.group_id.empty() && c.service.empty()) c.group_id = "txova-eventlog";
    if (c.topics.empty() && c.manual_assignment.empty())
      for (auto t : topics::all) c.topics.emplace_back(t);
    // A batch holds records not yet marked done; the consumer holds a partition back past
    // max_poll_records of them, so a partition may have a whole batch out.
    c.max_poll_records = std::max(c.max_poll_records, cfg_.batch_records);
    // The store says where a partition resumes: what it has is never fetched again.
    c.start_offset = [&store = store_](std::string_view topic, std::int32_t partition) -> std::optional<std::int64_t> {
      auto r = store.next_offset(topic, partition);
      if (!r) throw diagnostic_error(r.error());
      return *r;
    };
    consumer_.emplace(ex_, c);
  }

  void start(event_logger_done done) {
    done_.emplace(std::move(done));  // not assigned: Boost 1.81's any_completion_handler move assignment recurses
    asio::co_spawn(ex_, run(shared_from_this()), asio::detached);
    asio::co_spawn(ex_, flusher(shared_from_this()), asio::detached);
  }
  void stop() {
    asio::post(ex_, [self = shared_from_this()] {
      self->stopping_ = true;
      self->consumer_->stop();
    });
  }
  event_logger_stats stats() const {
    return {stored_.load(), batches_.load(), pruned_.load(), not_envelopes_.load()};
  }
  diagnostic failure() const {
    std::lock_guard lock(failure_mutex_);
    return failure_;
  }

private:
  static asio::awaitable<void> run(std::shared_ptr<event_logger_core> self) {
    auto stream = self->consumer_->records();
    for (;;) {
      auto [ec, r] = co_await stream.async_next(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      if (self->failed()) continue;  // stopping: nothing more is stored or marked done
      if (self->batch_.empty()) self->batch_started_ = std::chrono::steady_clock::now();
      self->batch_.push_back(to_logged_event(r));
      auto& next = self->offsets_[{std::string(r.topic()), r.partition()}];
      next = std::max(next, r.offset() + 1);
      self->records_.push_back(std::move(r));
      if (self->batch_.size() >= self->cfg_.batch_records) self->flush();
    }
    self->flush();
    self->stopping_ = true;
    self->flush_timer_.cancel();
    auto [run_ec] = co_await self->consumer_->async_run(asio::as_tuple(asio::use_awaitable));
    error_code ec = run_ec;
    if (self->failed()) ec = self->failure_.code;
    if (self->done_) {
      event_logger_done done(std::move(*self->done_));
      self->done_.reset();
      std::move(done)(ec);
    }
  }

  // Stores a batch that stopped growing, and prunes between batches.
  static asio::awaitable<void> flusher(std::shared_ptr<event_logger_core> self) {
    auto last_prune = std::chrono::steady_clock::now();
    while (!self->stopping_) {
      self->flush_timer_.expires_after(std::min(self->cfg_.batch_wait, std::chrono::milliseconds(50)));
      auto [ec] = co_await self->flush_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || self->stopping_) break;
      if (!self->batch_.empty() && std::chrono::steady_clock::now() - self->batch_started_ >= self->cfg_.batch_wait) self->flush();
      const bool keeps = self->cfg_.keep.max_age || self->cfg_.keep.max_events;
      if (keeps && std::chrono::steady_clock::now() - last_prune >= self->cfg_.prune_interval) {
        last_prune = std::chrono::steady_clock::now();
        auto n = self->store_.prune(self->cfg_.keep, self->cfg_.prune_batch);
        if (n) self->pruned_ += *n;
        else logger()->warn("event log: pruning failed: {}", n.error().message);
      }
    }
  }

  bool failed() const { return static_cast<bool>(failure_); }

  // One transaction: the batch and its partitions' next offsets. Then the group may commit them.
  void flush() {
    if (batch_.empty() || failed()) return;
    std::vector<stored_offset> offsets;
    offsets.reserve(offsets_.size());
    for (const auto& [tp, next] : offsets_) offsets.push_back({tp.first, tp.second, next});
    if (diagnostic d = store_.append(batch_, offsets)) {
      logger()->error("event log: storing {} records failed: {}; stopping (they are fetched again next run)", batch_.size(), d.message);
      {
        std::lock_guard lock(failure_mutex_);
        failure_ = d;
      }
      consumer_->stop();
      return;
    }
    for (const auto& e : batch_) {
      if (e.sequence) ++stored_;
      if (!e.event) ++not_envelopes_;
    }
    ++batches_;
    for (const auto& r : records_) consumer_->mark_done(r);
    batch_.clear();
    records_.clear();
    offsets_.clear();
  }

  asio::any_io_executor ex_;
  event_log_store& store_;
  event_logger_config cfg_;
  std::optional<consumer> consumer_;
  asio::steady_timer flush_timer_;
  std::optional<event_logger_done> done_;
  std::vector<logged_event> batch_;
  std::vector<consumed_record> records_;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> offsets_;
  std::chrono::steady_clock::time_point batch_started_{};
  bool stopping_ = false;
  mutable std::mutex failure_mutex_;
  diagnostic failure_;
  std::atomic<std::uint64_t> stored_{0}, batches_{0}, pruned_{0}, not_envelopes_{0};
};

std::shared_ptr<event_logger_core> make_event_logger(asio::any_io_executor ex, event_log_store& store, event_logger_config cfg) {
  return std::make_shared<event_logger_core>(std::move(ex), store, std::move(cfg));
}
void start_event_logger(const std::shared_ptr<event_logger_core>& core, event_logger_done done) { core->start(std::move(done)); }
void stop(event_logger_core& core) { core.stop(); }
event_logger_stats stats(const event_logger_core& core) { return core.stats(); }
diagnostic failure(const event_logger_core& core) { return core.failure(); }

}  // namespace txova::kafka::detail
