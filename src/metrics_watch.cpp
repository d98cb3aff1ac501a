// metrics::watch and metrics::replay_observer: counters the producer, the consumer (and its DLQ
// writer) and the replayer keep themselves, read at each render() (or counted as they happen),
// so a service gets them without middleware in its hot path.
#include "metrics_impl.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/replay.hpp>

#include <map>
#include <set>

namespace txova::kafka {
namespace {

using counter_family = prometheus::Family<prometheus::Counter>;
using gauge_family = prometheus::Family<prometheus::Gauge>;

counter_family& counter(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
gauge_family& gauge(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

// A counter kept as a total elsewhere: raised by what the total grew since the last look.
struct mirrored {
  prometheus::Counter* c;
  std::uint64_t seen = 0;
  void update(std::uint64_t now) {
    if (now > seen) c->Increment(static_cast<double>(now - seen));
    seen = now;
  }
};

}  // namespace

void metrics::watch(const consumer_telemetry& c) {
  auto& r = impl_->registry;
  const prometheus::Labels group{{"messaging_consumer_group_name", c.group()}};
  struct source {
    consumer_telemetry c;
    std::vector<std::pair<std::uint64_t consumer_stats::*, mirrored>> counters;
    gauge_family* lag;
    std::map<std::pair<std::string, std::int32_t>, std::pair<prometheus::Gauge*, prometheus::Gauge*>> lag_series;
    prometheus::Gauge *in_flight, *assigned, *paused;
    bool gone = false;
  };
  auto s = std::make_shared<source>();
  s->c = c;
  const auto add = [&](std::uint64_t consumer_stats::*field, const std::string& name, const std::string& help) {
    s->counters.emplace_back(field, mirrored{&counter(r, name, help).Add(group)});
  };
  add(&consumer_stats::timed_out, "txova_consumer_timeouts_total", "Handler attempts cancelled at the handler timeout");
  add(&consumer_stats::dead_lettered, "txova_consumer_dead_letters_total", "Records the consumer wrote to a DLQ (failed handlers and poison records)");
  add(&consumer_stats::dead_letter_failures, "txova_consumer_dead_letter_failures_total", "DLQ writes that failed (and were tried again)");
  add(&consumer_stats::poison, "txova_consumer_poison_records_total", "Records that were not a valid envelope, or too large");
  add(&consumer_stats::rebalances, "txova_consumer_rebalances_total", "Partition assignments and revocations");
  add(&consumer_stats::commits, "txova_consumer_commits_total", "Offset commits the broker accepted");
  add(&consumer_stats::skipped, "txova_consumer_skipped_total", "Records committed without a successful handler (business errors, unrouted types)");
  add(&consumer_stats::handled, "txova_consumer_handled_total", "Records a handler finished");
  add(&consumer_stats::received, "txova_consumer_received_total", "Records fetched");
  add(&consumer_stats::malformed_traceparents, "txova_consumer_malformed_traceparents_total", "traceparent headers ignored as malformed");
  s->lag = &gauge(r, "txova_consumer_lag", "Records of a partition not yet done: source=\"tracker\" is ours, \"librdkafka\" its statistics'");
  s->in_flight = &gauge(r, "txova_consumer_in_flight", "Records fetched and not done").Add(group);
  s->assigned = &gauge(r, "txova_consumer_assigned_partitions", "Partitions assigned now").Add(group);
  s->paused = &gauge(r, "txova_consumer_paused_partitions", "Partitions held at librdkafka because their strand is full").Add(group);
  c.lag();  // asks the consumer to keep a lag snapshot from its next tick on

  std::lock_guard lock(impl_->mutex);
  impl_->collectors.push_back([s, group = c.group()] {
    if (s->gone) return;
    auto st = s->c.stats();
    std::set<std::pair<std::string, std::int32_t>> now;
    if (st) {
      for (auto& [field, m] : s->counters) m.update((*st).*field);
      s->in_flight->Set(static_cast<double>(st->in_flight));
      s->assigned->Set(static_cast<double>(st->assigned));
      s->paused->Set(static_cast<double>(st->paused));
      for (const partition_lag& l : s->c.lag()) {
        const auto key = std::make_pair(l.topic, l.partition);
        now.insert(key);
        auto it = s->lag_series.find(key);
        if (it == s->lag_series.end()) {
          if (s->lag_series.size() >= max_series) continue;
          prometheus::Labels labels{{"messaging_destination_name", l.topic},
                                    {"messaging_destination_partition_id", std::to_string(l.partition)},
                                    {"messaging_consumer_group_name", group}};
          auto tracker = labels, stats = labels;
          tracker.emplace("source", "tracker");
          stats.emplace("source", "librdkafka");
          it = s->lag_series.emplace(key, std::make_pair(&s->lag->Add(tracker), &s->lag->Add(stats))).first;
        }
        if (l.lag >= 0) it->second.first->Set(static_cast<double>(l.lag));  // -1: not known yet
        if (l.stats_lag >= 0) it->second.second->Set(static_cast<double>(l.stats_lag));
      }
    } else {
      s->gone = true;
    }
    // Partitions gone (revoked, or the consumer with them) lose their series.
    for (auto it = s->lag_series.begin(); it != s->lag_series.end();) {
      if (now.count(it->first)) {
        ++it;
        continue;
      }
      s->lag->Remove(it->second.first);
      s->lag->Remove(it->second.second);
      it = s->lag_series.erase(it);
    }
  });
}

void metrics::watch(const producer_telemetry& p) {
  auto& r = impl_->registry;
  const prometheus::Labels client{{"messaging_client_id", p.client_id()}};
  struct source {
    producer_telemetry p;
    std::vector<std::pair<std::uint64_t producer_stats::*, mirrored>> counters;
    prometheus::Gauge *in_flight, *queue_depth;
  };
  auto s = std::make_shared<source>();
  s->p = p;
  const auto add = [&](std::uint64_t producer_stats::*field, const std::string& name, const std::string& help) {
    s->counters.emplace_back(field, mirrored{&counter(r, name, help).Add(client)});
  };
  add(&producer_stats::retried, "txova_producer_retries_total", "Publishes sent again after a retriable failure (librdkafka's own retries not counted)");
  add(&producer_stats::dead_lettered, "txova_producer_dead_letters_total", "Publishes that exhausted their retries and were written to their DLQ");
  add(&producer_stats::failed, "txova_producer_failed_total", "Publishes that ended with an error (validation failures included)");
  add(&producer_stats::rejected, "txova_producer_rejected_total", "publish_detached calls refused for want of room");
  add(&producer_stats::sent, "txova_producer_acknowledged_total", "Publishes the broker acknowledged");
  s->in_flight = &gauge(r, "txova_producer_in_flight", "Publishes not yet completed").Add(client);
  s->queue_depth = &gauge(r, "txova_producer_queue_depth", "Messages in librdkafka's queues").Add(client);
  std::lock_guard lock(impl_->mutex);
  impl_->collectors.push_back([s] {
    auto st = s->p.stats();
    if (!st) return;
    for (auto& [field, m] : s->counters) m.update((*st).*field);
    s->in_flight->Set(static_cast<double>(st->in_flight));
    s->queue_depth->Set(static_cast<double>(st->queue_depth));
  });
}

std::function<void(const replay_event&)> metrics::replay_observer() const {
  auto& family = counter(impl_->registry, "txova_replay_records_total",
                         "DLQ records a replayer read, by what it did with them (replayed, filtered, quarantined, ...)");
  struct state {
    std::mutex mutex;
    std::map<std::pair<std::string, replay_outcome>, prometheus::Counter*> series;
  };
  return [&family, st = std::make_shared<state>(), keep = impl_](const replay_event& e) {
    std::string topic = e.letter ? e.letter->failure.original_topic : std::string("_unknown");
    std::lock_guard lock(st->mutex);
    if (st->series.size() >= max_series) topic = "_other";
    auto& c = st->series[{topic, e.outcome}];
    if (!c) c = &family.Add({{"outcome", std::string(to_string(e.outcome))}, {"messaging_destination_name", topic}});
    c->Increment();
  };
}

}  // namespace txova::kafka
