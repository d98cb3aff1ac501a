#pragma once
// The test kit's scratch topic: a topic of its own for one test, on any cluster (a real broker or
// the embedded one), with its DLQ and a group name, and a blocking way to fill it. What an
// integration test of a consumer needs before it starts, in one line:
//
//   testing::scratch_topic t(brokers, "billing", 3);    // "billing-1f3a9c2e" and its .dlq
//   t.produce(records);                                  // waits for every ack
//   consumer c(ioc.get_executor(), t.consumer());        // brokers, group, topic
//
// Blocking, so for test setup only: each call runs an io_context of its own.
#include <txova/kafka/config.hpp>
#include <txova/kafka/delivery.hpp>
#include <txova/kafka/producer_record.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace txova::kafka::testing {

class scratch_topic {
public:
  /// Creates "<prefix>-<8 hex digits>" with `partitions` and its DLQ "<name>.dlq" (one partition)
  /// on `brokers`. Throws diagnostic_error naming the topic and the broker's reason when it cannot.
  scratch_topic(std::string brokers, std::string_view prefix, int partitions = 1);

  const std::string& name() const noexcept { return name_; }
  const std::string& group() const noexcept { return group_; }  ///< "<name>-group"
  std::string dead_letter_topic() const { return name_ + ".dlq"; }
  int partitions() const noexcept { return partitions_; }
  const std::string& brokers() const noexcept { return brokers_; }

  /// Writes `records` to this topic in their order (an idempotent producer; a record's topic is
  /// replaced by this one, its partition kept when set) and waits for every ack. Throws
  /// diagnostic_error with the first failure.
  std::vector<delivery> produce(std::vector<producer_record> records,
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  /// A consumer of this topic in group(): brokers, group and topic set; commits every 100 ms,
  /// fetch waits of at most 10 ms.
  consumer_config consumer() const;

private:
  std::string brokers_, name_, group_;
  int partitions_;
};

}  // namespace txova::kafka::testing
