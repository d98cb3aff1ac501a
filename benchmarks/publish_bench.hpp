#pragma once
// The producer section of txova-bench.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

struct publish_bench_options {
  std::string brokers;
  bool embedded = false;  ///< librdkafka's mock cluster in this process (its CPU is counted too)
  bool quick = false;
  std::size_t in_flight = 10000;
  std::size_t messages = 0;  ///< 0: by mode
  std::vector<int> rates{1000, 10000, 50000};
  std::chrono::milliseconds linger{5};
  bool compare_wakeups = true;
  std::function<bool(const std::string& topic, int partitions)> create_topic;
};

namespace txova::kafka::bench {
struct measurement;
}

/// Our producer with its defaults (linger 5 ms) publishing `n` ride.completed envelopes to
/// `topic` with `in_flight` awaiting coroutines: the figure the Go peers are compared with.
txova::kafka::bench::measurement our_publish_rate(const std::string& brokers, const std::string& topic, std::size_t n,
                                                 std::size_t in_flight);

/// Runs the producer measurements and prints the publish_* lines; non-zero when one failed.
int run_publish_section(const publish_bench_options& o);
