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
#include <txova/kafka/middleware.hpp>

#include <boost/system/error_code.hpp>

#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace txova::kafka {

/// The error.type label of an error: librdkafka's error name ("_MSG_TIMED_OUT",
/// "TOPIC_AUTHORIZATION_FAILED"), ours ("invalid_field"), else "<category>:<value>".
std::string error_type(const boost::system::error_code& ec);

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
  kafka::producer_middleware producer_middleware() const;
  /// Measures every handler attempt: messaging_process_duration_seconds (histogram) and
  /// messaging_client_consumed_messages_total, by messaging_destination_name,
  /// messaging_destination_partition_id and messaging_consumer_group_name, and error_type when
  /// the attempt failed (txova_consumer_retries_total counts the attempts after the first).
  kafka::consumer_middleware consumer_middleware() const;

  /// Everything, in the Prometheus text format 0.0.4.
  std::string render() const;
  /// The registry underneath, for metrics of the application's own beside ours.
  prometheus::Registry& registry();

  struct impl;

private:
  std::shared_ptr<impl> impl_;  // shared with the middleware, which may outlive this object
};

}  // namespace txova::kafka
