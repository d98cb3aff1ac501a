#pragma once
// The test kit's recording producer: the real producer (the same `producer` type, so code under
// test takes it unchanged: validation, routing, keys, middleware, retries, DLQ all run) over an
// in-memory port that writes to an event_store instead of a broker. Acks come with the partition
// the real partitioner picks (sarama's FNV-1a by default, murmur2 for key_partitioner::java) and
// the partition's next offset. A test can fail the next publishes, delay acks, or hold the queue
// full (backpressure).
//
//   testing::recording_producer rec(ioc.get_executor());
//   my_service svc(rec.producer());                   // takes a txova::kafka::producer&
//   ... co_await svc.handle(request) ...
//   BOOST_TEST(rec.store().events("ride.*").size() == 1);
#include <txova/kafka/producer.hpp>
#include <txova/kafka/testing/event_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace txova::kafka::testing {

/// The partition a key goes to among `partitions`, as the real producer's partitioner picks it.
std::int32_t partition_for(std::string_view key, std::int32_t partitions, key_partitioner p = key_partitioner::sarama);

struct recording_options {
  std::int32_t partitions = 3;                          ///< of every topic not in partitions_of
  std::map<std::string, std::int32_t, std::less<>> partitions_of{};
};

class recording_producer {
public:
  /// `cfg` is the producer's (brokers are not needed; dead_letter, retries and routes apply).
  explicit recording_producer(boost::asio::any_io_executor ex, producer_config cfg = {}, recording_options options = {},
                              std::shared_ptr<event_store> store = std::make_shared<event_store>());
  ~recording_producer();
  recording_producer(const recording_producer&) = delete;
  recording_producer& operator=(const recording_producer&) = delete;

  kafka::producer& producer() noexcept { return *producer_; }
  event_store& store() noexcept { return *store_; }
  const std::shared_ptr<event_store>& shared_store() const noexcept { return store_; }

  /// The next `n` messages fail with `ec` (a librdkafka error: make_rdkafka_error(...)), not
  /// stored. `persisted` says whether the broker may have written them anyway.
  void fail_next(std::size_t n, boost::system::error_code ec, bool persisted = false);
  /// Acks come `d` after the message was taken (0: at once).
  void delay_acks(std::chrono::milliseconds d);
  /// While held, the in-memory queue is full: publishes wait for room (backpressure), detached
  /// ones are refused past max_detached_waiting.
  void hold(bool held);
  /// Messages taken and not yet acknowledged.
  std::size_t in_flight() const;

  struct state;

private:
  std::shared_ptr<state> state_;
  std::shared_ptr<event_store> store_;
  std::unique_ptr<kafka::producer> producer_;
};

}  // namespace txova::kafka::testing
