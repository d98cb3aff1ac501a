#pragma once
// The consumer section of txova-bench.
#include <functional>
#include <string>
#include <string_view>

struct consume_options {
  std::string brokers;
  bool quick = false;
  bool embedded = false;    ///< librdkafka's mock cluster (keeps the newest 5 MiB per partition)
  std::string_view sample;  ///< the envelope the records carry
  int lag_rate = 10000;     ///< msg/s produced while lag is sampled
  std::function<bool(const std::string& topic, int partitions)> create_topic;
};

namespace txova::kafka::bench {
struct measurement;
}

/// Our consumer with a typed route (payload decoded into events::ride_completed) reading the
/// first `n` records of `topic`: the figure the Go peers' consume + decode is compared with.
txova::kafka::bench::measurement typed_consume_rate(const std::string& brokers, const std::string& topic, std::size_t n);

/// `n` records of `sample` written to `topic` by a plain librdkafka producer (snappy, linger 5 ms).
void write_backlog(const std::string& brokers, const std::string& topic, std::string_view sample, std::size_t n);

/// Runs the consumer measurements and prints the consume_* lines; non-zero when one failed.
int run_consumer_section(const consume_options& o);
