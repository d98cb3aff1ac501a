#pragma once
// Metrics in the OpenTelemetry messaging conventions, rendered in the Prometheus text format
// (0.0.4), on prometheus-cpp's core (its data model and serializer; its pull server, which starts
// threads of its own, is not used). Fed through middleware, so a producer or consumer without
// them pays nothing:
//
//   txova::kafka::metrics m;
//   producer.use(m.producer_middleware());
//   consumer.use(m.consumer_middleware());
//   std::string text = m.render();   // what GET /metrics answers
//
// Every metric, its type, unit and labels: docs/observability.md. Labels are bounded: topics,
// partitions, groups and error types, never event ids or keys; past max_series series a metric
// counts the rest under messaging_destination_name="_other".
#include <txova/kafka/handler_error.hpp>  // error_type, error_type_of
#include <txova/kafka/middleware.hpp>

#include <boost/system/error_code.hpp>

#include <functional>
#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace txova::kafka {

class consumer_telemetry;  // consumer.hpp
class producer_telemetry;  // producer.hpp
struct replay_event;       // replay.hpp


class metrics {
public:
  static constexpr std::size_t max_series = 1000;  ///< per metric

  metrics();
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Measures every publish it wraps: messaging_client_operation_duration_seconds (histogram, the
  /// publish until its acknowledgment) and messaging_client_sent_messages_total, by
  /// messaging_destination_name, and error_type on failure. Register it first (outermost) to time
  /// the other middleware too.
  std::shared_ptr<publish_observer> producer_middleware() const;
  /// Measures every handler attempt: messaging_process_duration_seconds (histogram) and
  /// messaging_client_consumed_messages_total, by messaging_destination_name,
  /// messaging_destination_partition_id and messaging_consumer_group_name, and error_type when
  /// the attempt failed (txova_consumer_retries_total counts the attempts after the first).
  std::shared_ptr<handler_observer> consumer_middleware() const;

  /// Reads `c` at every render(): its counters (txova_consumer_timeouts_total, _dead_letters_total,
  /// _poison_records_total, _rebalances_total, _commits_total, ...) by messaging_consumer_group_name,
  /// and txova_consumer_lag per topic and partition (source="tracker": ours; "librdkafka": its
  /// statistics'). Until the consumer is gone; a partition no longer assigned loses its series.
  void watch(const consumer_telemetry& c);
  /// Reads `p` at every render(): txova_producer_retries_total, _dead_letters_total (its DLQ
  /// writes), _failed_total, _rejected_total, and the in_flight and queue_depth gauges, by
  /// messaging_client_id.
  void watch(const producer_telemetry& p);
  /// Counts every DLQ record a replayer saw, txova_replay_records_total by outcome and
  /// messaging_destination_name (the original topic): replay_options::observer = m.replay_observer().
  std::function<void(const replay_event&)> replay_observer() const;

  /// Everything, in the Prometheus text format 0.0.4.
  std::string render() const;
  /// The registry underneath, for metrics of the application's own beside ours.
  prometheus::Registry& registry();

  struct impl;

private:
  std::shared_ptr<impl> impl_;  // shared with the middleware, which may outlive this object
};

}  // namespace txova::kafka
