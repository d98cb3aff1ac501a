#pragma once
// An in-process Kafka cluster (librdkafka's mock cluster) for tests, demos and benchmarks, with
// fault injection: brokers down and up, errors pushed for a protocol API, added round-trip time.
// It speaks the Kafka protocol on 127.0.0.1, so any client (ours, raw librdkafka) connects to
// bootstrap_servers(). See docs/embedded-cluster.md for what it does differently from a real
// broker.

#include <txova/kafka/config.hpp>
#include <txova/kafka/error.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka::testing {

/// Kafka protocol request types that faults can target (the protocol's ApiKey numbers).
enum class kafka_api : std::int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  init_producer_id = 22,
};

/// A mock cluster of N brokers (ids 1..N). Not copyable; destroying it stops the brokers.
class embedded_cluster {
public:
  /// Starts `brokers` mock brokers; throws diagnostic_error if librdkafka cannot.
  explicit embedded_cluster(int brokers = 1);
  ~embedded_cluster();
  embedded_cluster(embedded_cluster&&) noexcept;
  embedded_cluster& operator=(embedded_cluster&&) noexcept;

  /// "127.0.0.1:port,..." for `bootstrap.servers`.
  const std::string& bootstrap_servers() const noexcept;
  int broker_count() const noexcept;

  /// Creates a topic (auto-creation also works for producers; this fixes the partition count).
  boost::system::error_code create_topic(std::string_view topic, int partitions, int replication_factor = 1);

  /// Takes a broker off the network (connections closed, new ones refused) or back on.
  boost::system::error_code set_broker_down(std::int32_t broker_id);
  boost::system::error_code set_broker_up(std::int32_t broker_id);
  /// Delays every response of a broker by `rtt`.
  boost::system::error_code set_round_trip_time(std::int32_t broker_id, std::chrono::milliseconds rtt);

  /// The next errors.size() requests of `api` to any broker fail with these librdkafka codes
  /// (rd_kafka_resp_err_t values), in order. RD_KAFKA_RESP_ERR__TRANSPORT disconnects instead.
  void push_request_errors(kafka_api api, std::span<const int> errors);
  /// Forgets errors pushed for `api` that have not fired yet.
  void clear_request_errors(kafka_api api);
  /// How many pushed errors for `api` on `broker_id` have not fired yet.
  boost::system::error_code pending_broker_errors(std::int32_t broker_id, kafka_api api, std::size_t& count);
  /// The next request of `api` to `broker_id` fails with `err` after `delay`.
  boost::system::error_code push_broker_request_error(std::int32_t broker_id, kafka_api api, int err,
                                                      std::chrono::milliseconds delay);
  /// Every request naming `topic` fails with `err` until set back to 0.
  void set_topic_error(std::string_view topic, int err);
  /// Moves a partition's leadership (-1: no leader).
  boost::system::error_code set_partition_leader(std::string_view topic, std::int32_t partition, std::int32_t broker_id);
  /// Makes `broker_id` the coordinator of a consumer group.
  boost::system::error_code set_group_coordinator(std::string_view group_id, std::int32_t broker_id);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A consumer configuration that starts reading in well under a second on the embedded cluster:
/// the partitions [0, n) of each (topic, n) by manual assignment, so there is no group join (the
/// mock's first join of a group takes 3 s, whatever the settings, and a rejoin of a group it knows
/// session_timeout - 1 s); commits every 100 ms, fetch waits of at most 10 ms. Offsets are committed
/// for `group` and resumed from by the next consumer made with it. The mock refuses commits from
/// outside a group a subscribed consumer has ever joined: use a group of its own (docs/testing.md).
consumer_config fast_consumer_config(const embedded_cluster& cluster, std::string group,
                                     const std::vector<std::pair<std::string, int>>& topics);

/// For tests that need a real group (rebalances, several members): the mock's first join still
/// takes 3 s; session_timeout 4 s (the shortest its 1 s eviction timer lets a joining member
/// survive) makes a later join of the same group take 3 s instead of 44 s.
consumer_config group_consumer_config(const embedded_cluster& cluster, std::string group, std::vector<std::string> topics);

}  // namespace txova::kafka::testing
