// The DLQ replayer (replay.hpp): a records() loop over our consumer, one DLQ record at a time
// (order within a DLQ partition is kept), decoded, filtered, republished with our producer or
// handed to the caller's handler, then marked done so its group commits it. The end of the DLQ is
// librdkafka's partition EOF (enable.partition.eof), watched every 50 ms while the loop waits.
#include <txova/kafka/replay.hpp>

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/detail/completion_queue.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace txova::kafka {

std::string_view to_string(replay_outcome o) noexcept {
  switch (o) {
    case replay_outcome::replayed: return "replayed";
    case replay_outcome::would_replay: return "would_replay";
    case replay_outcome::filtered: return "filtered";
    case replay_outcome::quarantined: return "quarantined";
    case replay_outcome::omitted: return "omitted";
    case replay_outcome::undecodable: return "undecodable";
    case replay_outcome::failed: break;
  }
  return "failed";
}

namespace detail {

namespace asio = boost::asio;
using boost::system::error_code;

class replayer_core : public std::enable_shared_from_this<replayer_core> {
public:
  replayer_core(asio::any_io_executor ex, consumer_config source, replay_options o, replay_observer observer)
      : ex_(ex), opts_(std::move(o)), observer_(std::move(observer)), completions_(ex), end_watch_(ex), pace_(ex) {
    if (opts_.dlq_topic.empty())
      throw diagnostic_error(make_diagnostic(error::invalid_config, "dlq_topic", "replay_options.dlq_topic is empty: name the DLQ to replay"));
    if (opts_.quarantine_after < 1)
      throw diagnostic_error(make_diagnostic(error::invalid_config, "quarantine_after",
                                             "quarantine_after " + std::to_string(opts_.quarantine_after) + " is below 1"));
    if (opts_.max_rate < 0)
      throw diagnostic_error(make_diagnostic(error::invalid_config, "max_rate", "max_rate " + std::to_string(opts_.max_rate) + " is negative"));
    if (!opts_.to_topic.empty() && !is_legal_topic_name(opts_.to_topic))
      throw diagnostic_error(make_diagnostic(error::invalid_config, "to_topic", "to_topic \"" + opts_.to_topic + "\" is not a legal topic name"));
    for (const auto& p : opts_.filter.types)
      if (auto d = check_route_pattern(p)) throw diagnostic_error(d);
    producer_config pc;
    if (opts_.producer) {
      pc = *opts_.producer;
    } else {
      pc = producer_config_for(source);
      pc.client_id = "txova-replay";
    }
    pc.dead_letter = false;  // a replay that fails stays in its DLQ; it is not dead-lettered again
    source.group_id = opts_.group_id.empty() ? "txova-replay-" + opts_.dlq_topic : opts_.group_id;
    source.topics = {opts_.dlq_topic};
    source.auto_offset_reset = "earliest";
    source.dead_letter = false;
    source.statistics_interval = std::chrono::milliseconds(0);
    source.properties["enable.partition.eof"] = "true";
    if (opts_.dry_run) source.commit_offsets = false;
    consumer_.emplace(ex_, std::move(source));
    if (!opts_.dry_run) producer_.emplace(ex_, std::move(pc));
  }

  void start(replay_handler handler, replay_done done) {
    if (started_) return completions_.complete(std::move(done), make_error_code(error::closed), stats_);
    started_ = true;
    asio::co_spawn(ex_, run(std::move(handler)),
                   [self = shared_from_this(), done = std::move(done)](std::exception_ptr e, error_code ec) mutable {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         logger()->error("replay of {}: internal error: {}", self->opts_.dlq_topic, x.what());
                       }
                       ec = make_error_code(error::internal);
                     }
                     self->completions_.complete(std::move(done), ec, self->stats_);
                   });
  }

  void stop() {
    stopping_ = true;
    stop_consumer();
  }
  const replay_stats& stats() const { return stats_; }

private:
  asio::awaitable<error_code> run(replay_handler handler) {
    auto self = shared_from_this();
    auto stream = consumer_->records();
    started_at_ = std::chrono::steady_clock::now();
    watch_end();
    error_code result;
    next_slot_ = std::chrono::steady_clock::now();
    while (!stopping_) {
      waiting_ = true;
      auto [ec, r] = co_await stream.async_next(asio::as_tuple(asio::use_awaitable));
      waiting_ = false;
      if (ec) break;
      auto outcome = co_await one(r, handler);
      if (outcome == replay_outcome::failed) {
        consumer_->abandon(r);  // uncommitted, and the shutdown does not wait for it
        result = failure_;
        break;
      }
      consumer_->mark_done(r);  // a dry run's consumer commits nothing
      if (opts_.max_count && stats_.replayed + (opts_.dry_run ? stats_.matched : 0) >= opts_.max_count) break;
    }
    end_watch_.cancel();
    stop_consumer();
    auto [stop_ec] = co_await consumer_->async_run(asio::as_tuple(asio::use_awaitable));
    if (producer_) co_await producer_->async_close(std::chrono::seconds(10), asio::as_tuple(asio::use_awaitable));
    if (!result && timed_out_) result = failure_;
    if (!result && stop_ec && stop_ec != make_error_code(error::closed)) result = stop_ec;
    logger()->info("replay of {}: seen {}, matched {}, replayed {}, filtered {}, quarantined {}, omitted {}, undecodable {}, failed {}",
                   opts_.dlq_topic, stats_.seen, stats_.matched, stats_.replayed, stats_.filtered, stats_.quarantined,
                   stats_.omitted, stats_.undecodable, stats_.failed);
    co_return result;
  }

  // Once: a second stop() of a consumer cancels what is in flight.
  void stop_consumer() {
    if (consumer_ && !consumer_stopped_) {
      consumer_stopped_ = true;
      consumer_->stop();
    }
  }

  // Stops the loop once every assigned partition is read to its end and the loop waits.
  void watch_end() {
    end_watch_.expires_after(std::chrono::milliseconds(50));
    end_watch_.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopping_) return;
      const auto lag = self->consumer_->lag();
      const bool done = !lag.empty() && std::all_of(lag.begin(), lag.end(), [](const partition_lag& l) { return l.at_end; });
      if (done && self->waiting_ && self->opts_.stop_at_end) return self->stop();
      if (lag.empty() && !self->assigned_once_ && std::chrono::steady_clock::now() - self->started_at_ > self->opts_.assignment_timeout) {
        self->failure_ = make_error_code(error::timed_out);
        self->timed_out_ = true;
        logger()->error("replay of {}: no partition of it assigned within {} ms: does the topic exist, are the brokers "
                        "reachable?", self->opts_.dlq_topic, self->opts_.assignment_timeout.count());
        return self->stop();
      }
      if (!lag.empty()) self->assigned_once_ = true;
      self->watch_end();
    });
  }

  void report(replay_outcome o, const decoded_dead_letter* d, const consumed_record& r, std::string detail = {}) {
    if (!observer_) return;
    try {
      observer_(replay_event{o, d, r, std::move(detail)});
    } catch (const std::exception& x) {
      logger()->warn("replay of {}: the observer threw: {}", opts_.dlq_topic, x.what());
    }
  }

  asio::awaitable<replay_outcome> one(const consumed_record& r, const replay_handler& handler) {
    ++stats_.seen;
    auto decoded = decode_dead_letter(r);
    if (!decoded) {
      ++stats_.undecodable;
      logger()->warn("replay of {}: record {}[{}]@{} passed over: {}", opts_.dlq_topic, r.topic(), r.partition(), r.offset(),
                     decoded.error().message);
      report(replay_outcome::undecodable, nullptr, r, decoded.error().message);
      co_return replay_outcome::undecodable;
    }
    const decoded_dead_letter& d = *decoded;
    if (!opts_.filter.matches(d)) {
      ++stats_.filtered;
      report(replay_outcome::filtered, &d, r);
      co_return replay_outcome::filtered;
    }
    ++stats_.matched;
    ++stats_.by_reason[d.failure.error_message.substr(0, 200)];
    ++stats_.by_type[d.event_type.value_or("(unknown)")];
    if (d.replay_count >= opts_.quarantine_after) {
      ++stats_.quarantined;
      logger()->warn("replay of {}: {}[{}]@{} was replayed {} times already: quarantined, not replayed", opts_.dlq_topic,
                     d.failure.original_topic, d.failure.original_partition, d.failure.original_offset, d.replay_count);
      report(replay_outcome::quarantined, &d, r, "replayed " + std::to_string(d.replay_count) + " times");
      co_return replay_outcome::quarantined;
    }
    if (d.value_omitted) {
      ++stats_.omitted;
      std::string why = "the dead letter does not carry the value (too large); it is at " + d.failure.original_topic + "[" +
                        std::to_string(d.failure.original_partition) + "]@" + std::to_string(d.failure.original_offset);
      logger()->warn("replay of {}: {}", opts_.dlq_topic, why);
      report(replay_outcome::omitted, &d, r, std::move(why));
      co_return replay_outcome::omitted;
    }
    if (opts_.dry_run) {
      report(replay_outcome::would_replay, &d, r);
      co_return replay_outcome::would_replay;
    }
    co_await pace();
    if (handler) {
      auto env = d.failure.original_value ? parse_envelope(*d.failure.original_value)
                                          : boost::system::result<envelope, diagnostic>(make_diagnostic(error::missing_field, "", "a tombstone"));
      if (!env) {
        ++stats_.undecodable;
        report(replay_outcome::undecodable, &d, r, "not an envelope: " + env.error().message);
        co_return replay_outcome::undecodable;
      }
      std::string thrown;
      try {
        co_await handler(*env, d);
      } catch (const std::exception& x) {
        thrown = x.what();
      }
      if (!thrown.empty()) co_return fail(d, r, "the handler threw: " + thrown, make_error_code(error::internal));
    } else {
      auto rec = replay_record(d, opts_.to_topic);
      auto [ec, del] = co_await producer_->async_send(std::move(*rec), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return fail(d, r, "republishing to " + (opts_.to_topic.empty() ? d.failure.original_topic : opts_.to_topic) + " failed: " +
                                       (del.error_message.empty() ? ec.message() : del.error_message), ec);
    }
    ++stats_.replayed;
    report(replay_outcome::replayed, &d, r);
    co_return replay_outcome::replayed;
  }

  replay_outcome fail(const decoded_dead_letter& d, const consumed_record& r, std::string why, error_code ec) {
    ++stats_.failed;
    failure_ = ec;
    logger()->error("replay of {}: {}[{}]@{}: {}; the replay stops, the record stays uncommitted", opts_.dlq_topic, r.topic(),
                    r.partition(), r.offset(), why);
    report(replay_outcome::failed, &d, r, std::move(why));
    return replay_outcome::failed;
  }

  // At most max_rate replays per second: each takes the next slot of 1/max_rate seconds.
  asio::awaitable<void> pace() {
    if (opts_.max_rate <= 0) co_return;
    const auto now = std::chrono::steady_clock::now();
    if (next_slot_ < now) next_slot_ = now;
    pace_.expires_at(next_slot_);
    next_slot_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(1.0 / opts_.max_rate));
    co_await pace_.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  asio::any_io_executor ex_;
  replay_options opts_;
  replay_observer observer_;
  completion_queue completions_;
  asio::steady_timer end_watch_, pace_;
  std::optional<consumer> consumer_;
  std::optional<producer> producer_;
  replay_stats stats_;
  error_code failure_;
  std::chrono::steady_clock::time_point next_slot_{}, started_at_{};
  bool assigned_once_ = false, timed_out_ = false;
  bool started_ = false, stopping_ = false, waiting_ = false, consumer_stopped_ = false;
};

std::shared_ptr<replayer_core> make_replayer_core(asio::any_io_executor ex, consumer_config source, replay_options o,
                                                  replay_observer observer) {
  return std::make_shared<replayer_core>(ex, std::move(source), std::move(o), std::move(observer));
}
void start_replay(const std::shared_ptr<replayer_core>& core, replay_handler handler, replay_done done) {
  core->start(std::move(handler), std::move(done));
}
void stop(replayer_core& core) { core.stop(); }
replay_stats stats(const replayer_core& core) { return core.stats(); }

}  // namespace detail
}  // namespace txova::kafka
