#pragma once
// metrics::impl: the registry and the series the middleware and the watchers feed (metrics.cpp,
// metrics_watch.cpp).
#include <txova/kafka/metrics.hpp>

#include <txova/kafka/handler_error.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace txova::kafka {

namespace detail {

// OpenTelemetry's recommended boundaries for messaging durations, in seconds.
inline const prometheus::Histogram::BucketBoundaries duration_buckets{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                               0.5,   0.75, 1,     2.5,  5,     7.5, 10};

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace detail

struct metrics::impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Histogram>& publish_duration =
      prometheus::BuildHistogram()
          .Name("messaging_client_operation_duration_seconds")
          .Help("Duration of a publish, from the call until the broker's acknowledgment (or its failure)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& sent =
      prometheus::BuildCounter()
          .Name("messaging_client_sent_messages_total")
          .Help("Messages the producer published; error_type is set on those that failed")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& process_duration =
      prometheus::BuildHistogram()
          .Name("messaging_process_duration_seconds")
          .Help("Duration of one handler attempt, middleware inside this one included")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& consumed =
      prometheus::BuildCounter()
          .Name("messaging_client_consumed_messages_total")
          .Help("Handler attempts; error_type is set on those that failed")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& retries =
      prometheus::BuildCounter()
          .Name("txova_consumer_retries_total")
          .Help("Handler attempts after the first (retries)")
          .Register(registry);

  struct publish_series {
    std::string topic;
    boost::system::error_code ec;
    prometheus::Histogram* duration;
    prometheus::Counter* sent;
  };
  struct process_series {
    std::string topic, group, error;  // error: error_type_of() of the failure, "" on success
    std::int32_t partition;
    prometheus::Histogram* duration;
    prometheus::Counter* consumed;
    prometheus::Counter* retries;
  };
  std::mutex mutex;
  std::vector<publish_series> publishes;
  // What render() reads first: the watched consumers and producers (metrics_watch.cpp).
  std::vector<std::function<void()>> collectors;
  std::vector<process_series> processes;

  // The error code, not its error.type text, is the key: a success builds no string.
  publish_series& publish_for(std::string_view topic, const boost::system::error_code& ec) {
    std::lock_guard lock(mutex);
    for (auto& s : publishes)
      if (s.ec == ec && s.topic == topic) return s;
    const std::string error = error_type(ec);
    const std::string name = publishes.size() < max_series ? std::string(topic) : "_other";
    prometheus::Labels labels{{"messaging_destination_name", name}, {"messaging_operation_name", "send"}};
    if (!error.empty()) labels.emplace("error_type", error);
    prometheus::Labels sent_labels{{"messaging_destination_name", name}};
    if (!error.empty()) sent_labels.emplace("error_type", error);
    return publishes.emplace_back(publish_series{std::string(topic), ec, &publish_duration.Add(labels, detail::duration_buckets),
                                                 &sent.Add(sent_labels)});
  }

  process_series& process_for(std::string_view topic, std::int32_t partition, std::string_view group,
                              const std::exception_ptr& failure) {
    const std::string error = failure ? error_type_of(failure) : std::string();
    std::lock_guard lock(mutex);
    for (auto& s : processes)
      if (s.partition == partition && s.topic == topic && s.group == group && s.error == error) return s;
    const bool room = processes.size() < max_series;
    prometheus::Labels labels{{"messaging_destination_name", room ? std::string(topic) : "_other"},
                              {"messaging_destination_partition_id", room ? std::to_string(partition) : "_other"},
                              {"messaging_consumer_group_name", std::string(group)}};
    prometheus::Labels plain = labels;
    if (!error.empty()) labels.emplace("error_type", error);
    return processes.emplace_back(process_series{std::string(topic), std::string(group), error, partition,
                                                 &process_duration.Add(labels, detail::duration_buckets), &consumed.Add(labels),
                                                 &retries.Add(plain)});
  }
};


}  // namespace txova::kafka
