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

/// Runs the consumer measurements and prints the consume_* lines; non-zero when one failed.
int run_consumer_section(const consume_options& o);
