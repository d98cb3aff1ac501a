// consumer_core's reports: health, stats, lag, and the failure it stopped on. See consumer_core.hpp.
#include "consumer_core.hpp"

#include <txova/kafka/detail/statistics.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <librdkafka/rdkafka.h>  // error codes only
#include <spdlog/spdlog.h>

#include <algorithm>

namespace txova::kafka::detail {

namespace asio = boost::asio;
using boost::system::error_code;

// ---- health, stats, lag --------------------------------------------------------------------

void consumer_core::health_check(consumer_health_handler h) {
  if (!strand_.running_in_this_thread())
    return on_strand([self = shared_from_this(), h = std::move(h)]() mutable { self->health_check(std::move(h)); });
  consumer_health r;
  r.running = started_ && !stopping_ && !destroyed_;
  r.assigned_partitions = partitions_.size();
  r.since_last_poll = started_ && port_ ? std::chrono::duration_cast<std::chrono::milliseconds>(consumer_clock::now() - port_->last_poll())
                                        : std::chrono::milliseconds(0);
  r.lag = lag();
  r.brokers_reachable = !brokers_down_;
  const auto poll_limit = std::max<std::chrono::milliseconds>(5 * tick_interval(cfg_), std::chrono::seconds(5));
  std::string stuck, errors;
  for (const auto& p : partitions_) {
    const std::string name = p->topic + "[" + std::to_string(p->partition) + "]";
    if (!p->stuck.empty()) stuck += (stuck.empty() ? "" : "; ") + name + ": " + p->stuck;
    if (!p->fetch_error.empty()) errors += (errors.empty() ? "" : "; ") + name + ": " + p->fetch_error;
    if (!p->stuck.empty()) r.stuck_partitions.push_back(name);
  }
  if (failure_) r.detail = "stopped on an error: " + failure_.message;
  else if (!r.running) r.detail = started_ ? "the consumer is stopping or stopped" : "the consumer is not running";
  else if (!fatal_.empty()) r.detail = "fatal librdkafka error: " + fatal_;
  else if (brokers_down_) r.detail = "no broker is reachable: " + brokers_down_reason_;
  else if (!stuck.empty()) r.detail = "stuck: " + stuck;
  else if (!errors.empty()) r.detail = "partition errors: " + errors;
  else if (r.since_last_poll > poll_limit)
    r.detail = "librdkafka was last polled " + std::to_string(r.since_last_poll.count()) + " ms ago (limit " +
               std::to_string(poll_limit.count()) + " ms)";
  r.healthy = r.detail.empty();
  completions_.complete(std::move(h), error_code{}, std::move(r));
}

consumer_stats consumer_core::stats() const {
  consumer_stats s;
  s.received = stats_.received;
  s.handled = stats_.handled;
  s.failed = stats_.failed;
  s.timed_out = stats_.timed_out;
  s.retried = stats_.retried;
  s.dead_lettered = stats_.dead_lettered;
  s.poison = stats_.poison;
  s.skipped = stats_.skipped;
  s.tombstones = stats_.tombstones;
  s.partition_errors = stats_.partition_errors;
  s.dead_letter_failures = stats_.dead_letter_failures;
  s.trimmed = stats_.trimmed;
  s.commits = stats_.commits;
  s.rebalances = stats_.rebalances;
  s.unknown_actor_types = stats_.unknown_actor_types;
  s.malformed_traceparents = stats_.malformed_traceparents;
  s.assigned = assigned_;
  s.in_flight = in_flight_;
  s.paused = held_;
  s.stuck = stuck_;
  return s;
}

diagnostic consumer_core::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

// A partition leaves the consumer: its share of the gauges goes with it.
void consumer_core::partition_erased(const partition_state& p) {
  in_flight_ -= p.fsm.tracker().in_progress();
  if (p.fsm.held()) --held_;
  if (!p.stuck.empty()) --stuck_;
}

void consumer_core::destroy_soon() noexcept {
  try {
    on_strand([self = shared_from_this()] { self->destroy(); });
  } catch (...) {
    destroy();
  }
}

std::vector<partition_lag> consumer_core::lag() const {
  std::vector<partition_lag> out;
  for (const auto& p : partitions_) {
    partition_lag l;
    l.topic = p->topic;
    l.partition = p->partition;
    std::int64_t lo = -1;
    if (auto w = port_ ? port_->watermarks(p->topic, p->partition) : std::nullopt) {
      lo = w->first;
      if (w->second >= 0) l.high_watermark = w->second;
    }
    l.next_to_commit = p->fsm.tracker().position();
    // Done, not merely fetched: a record fetched but not yet handed out (or not finished) is
    // not at the end, or a reader stopping "at the end" would drop it.
    const std::int64_t first_not_done = p->fsm.tracker().position();
    l.at_end = p->end_offset >= 0 && (first_not_done < 0 || first_not_done >= p->end_offset);
    // Nothing fetched yet: we read from the log start (librdkafka refreshes its low watermark
    // with the statistics), which overstates the lag when the group committed further on.
    if (l.next_to_commit < 0 && lo >= 0) l.next_to_commit = lo;
    if (l.high_watermark >= 0 && l.next_to_commit >= 0) l.lag = std::max<std::int64_t>(0, l.high_watermark - l.next_to_commit);
    l.stats_lag = p->stats_lag;
    l.end_offset = p->end_offset;
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace txova::kafka::detail
