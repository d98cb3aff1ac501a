#pragma once
// The DLQ replayer: reads a DLQ topic with its own consumer group, decodes each dead letter
// (ours, Spring Kafka's or Kafka Connect's; dlq.hpp), filters, and either republishes the original
// record to its original topic (or another), with its key and headers plus txova-replay-count
// and txova-replayed-from, or hands the original envelope to a handler. What it has finished is
// committed, so a replay stopped half-way resumes where it was (its group's commits); a dry run
// commits and publishes nothing. A record replayed quarantine_after times is reported and not
// replayed again. The first failure (a publish the broker refused after the producer's retries,
// or a handler that threw) ends the replay with that error; that record stays uncommitted.
//
//   replayer r(ex, consumer_config::from_env().value(), {.dlq_topic = "txova.rides.v1.dlq"});
//   auto [ec, stats] = co_await r.async_republish(as_tuple(use_awaitable));
#include <txova/kafka/config.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/detail/default_token.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace txova::kafka {

/// What to replay and how.
struct replay_options {
  std::string dlq_topic{};                 ///< required: the DLQ to read
  std::string group_id{};                  ///< default "txova-replay-<dlq_topic>"
  dead_letter_filter filter{};             ///< which dead letters; the others are passed over (and committed)
  std::string to_topic{};                  ///< republish there instead of each record's original topic
  bool dry_run = false;                    ///< report what would be replayed; publish and commit nothing
  double max_rate = 0;                     ///< replays per second; 0: as fast as acknowledged
  std::uint64_t max_count = 0;             ///< stop after this many replays; 0: no limit
  int quarantine_after = 3;                ///< a record replayed this many times is reported, not replayed
  bool stop_at_end = true;                 ///< finish once every partition of the DLQ is read to its end
  /// No partition of the DLQ assigned this long (no such topic, no broker): the replay ends with
  /// error::timed_out, saying so.
  std::chrono::milliseconds assignment_timeout{30000};
  std::optional<producer_config> producer{};  ///< default: the consumer config's brokers and security
};

/// What happened to one DLQ record.
enum class replay_outcome {
  replayed,     ///< republished (acknowledged) or handled
  would_replay, ///< a dry run's match
  filtered,     ///< did not match the filter
  quarantined,  ///< replayed quarantine_after times already
  omitted,      ///< matched, but its value was left out of the dead letter for size: nothing to replay
  undecodable,  ///< not a dead letter of a known writer, or (handler mode) not an envelope
  failed,       ///< the publish or the handler failed: the replay ends here
};
std::string_view to_string(replay_outcome o) noexcept;

struct replay_stats {
  std::uint64_t seen = 0, matched = 0, replayed = 0, filtered = 0, quarantined = 0, omitted = 0, undecodable = 0,
                failed = 0;
  std::map<std::string, std::uint64_t> by_reason{};  ///< matched dead letters by error message (first 200 bytes)
  std::map<std::string, std::uint64_t> by_type{};    ///< matched dead letters by event type ("(unknown)" when none)
};

/// One DLQ record as the replayer saw it: for progress bars, listings and audit logs.
struct replay_event {
  replay_outcome outcome;
  const decoded_dead_letter* letter;  ///< nullptr when undecodable
  const consumed_record& record;      ///< the DLQ record
  std::string detail;                 ///< why, for undecodable, omitted and failed
};
using replay_observer = std::function<void(const replay_event&)>;

/// Handles one replayed envelope; throwing ends the replay (the record stays uncommitted).
using replay_handler = std::function<boost::asio::awaitable<void>(const envelope&, const decoded_dead_letter&)>;

namespace detail {
class replayer_core;
using replay_done = boost::asio::any_completion_handler<void(boost::system::error_code, replay_stats)>;
std::shared_ptr<replayer_core> make_replayer_core(boost::asio::any_io_executor ex, consumer_config source, replay_options o,
                                                  replay_observer observer);
void start_replay(const std::shared_ptr<replayer_core>& core, replay_handler handler, replay_done done);
void stop(replayer_core& core);
replay_stats stats(const replayer_core& core);
}  // namespace detail

template <class Executor = boost::asio::any_io_executor>
class basic_replayer {
public:
  using executor_type = Executor;
  using default_token = detail::default_token_t<Executor>;

  /// `source`: brokers, security and properties of the cluster (its group and topics are
  /// replaced by the options'). Throws diagnostic_error for a bad config or an empty dlq_topic.
  basic_replayer(Executor ex, consumer_config source, replay_options options, replay_observer observer = {})
      : ex_(std::move(ex)), core_(detail::make_replayer_core(ex_, std::move(source), std::move(options), std::move(observer))) {}
  ~basic_replayer() {
    if (core_) detail::stop(*core_);
  }
  basic_replayer(basic_replayer&&) noexcept = default;
  basic_replayer& operator=(basic_replayer&&) = delete;

  executor_type get_executor() const noexcept { return ex_; }

  /// Republishes every matching dead letter; completes with (error_code, replay_stats).
  template <boost::asio::completion_token_for<void(boost::system::error_code, replay_stats)> Token = default_token>
  auto async_republish(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, replay_stats)>(
        [core = core_](auto handler) { detail::start_replay(core, {}, std::move(handler)); }, token);
  }
  /// Hands every matching dead letter's envelope to `handler` instead.
  template <boost::asio::completion_token_for<void(boost::system::error_code, replay_stats)> Token = default_token>
  auto async_replay(replay_handler handler, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, replay_stats)>(
        [core = core_, h = std::move(handler)](auto done) mutable { detail::start_replay(core, std::move(h), std::move(done)); },
        token);
  }
  /// Graceful stop: the record in hand is finished and committed, then the replay completes.
  void stop() { detail::stop(*core_); }
  replay_stats stats() const { return detail::stats(*core_); }

private:
  Executor ex_;
  std::shared_ptr<detail::replayer_core> core_;
};

using replayer = basic_replayer<>;

}  // namespace txova::kafka
