#include <txova/kafka/testing/embedded_cluster.hpp>

#include <txova/kafka/detail/rdkafka_handles.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/throw_exception.hpp>
#include <librdkafka/rdkafka_mock.h>

#include <vector>

namespace txova::kafka::testing {

struct embedded_cluster::impl {
  detail::kafka_handle owner;  // the mock cluster needs an rd_kafka_t for its bookkeeping
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstraps;
  int brokers = 0;

  ~impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
  }
};

embedded_cluster::embedded_cluster(int brokers) : impl_(std::make_unique<impl>()) {
  if (brokers < 1 || brokers > 64)
    boost::throw_exception(diagnostic_error(make_diagnostic(
        error::invalid_config, "brokers", "embedded cluster brokers " + std::to_string(brokers) + " is outside 1 to 64")));
  // The owner never connects anywhere; it only hosts the mock cluster's thread.
  auto conf = detail::make_conf({{"log_level", "3"}});
  auto client = detail::make_client(RD_KAFKA_PRODUCER, std::move(conf.value()));
  impl_->owner = std::move(client.value());
  impl_->cluster = rd_kafka_mock_cluster_new(impl_->owner.get(), brokers);
  if (!impl_->cluster)
    boost::throw_exception(diagnostic_error(
        make_diagnostic(error::invalid_config, "brokers", "librdkafka could not start a mock cluster")));
  impl_->bootstraps = rd_kafka_mock_cluster_bootstraps(impl_->cluster);
  impl_->brokers = brokers;
}

embedded_cluster::~embedded_cluster() = default;
embedded_cluster::embedded_cluster(embedded_cluster&&) noexcept = default;
embedded_cluster& embedded_cluster::operator=(embedded_cluster&&) noexcept = default;

const std::string& embedded_cluster::bootstrap_servers() const noexcept { return impl_->bootstraps; }
int embedded_cluster::broker_count() const noexcept { return impl_->brokers; }

boost::system::error_code embedded_cluster::create_topic(std::string_view topic, int partitions,
                                                         int replication_factor) {
  const std::string name(topic);
  return make_rdkafka_error(rd_kafka_mock_topic_create(impl_->cluster, name.c_str(), partitions, replication_factor));
}

boost::system::error_code embedded_cluster::set_broker_down(std::int32_t broker_id) {
  return make_rdkafka_error(rd_kafka_mock_broker_set_down(impl_->cluster, broker_id));
}

boost::system::error_code embedded_cluster::set_broker_up(std::int32_t broker_id) {
  return make_rdkafka_error(rd_kafka_mock_broker_set_up(impl_->cluster, broker_id));
}

boost::system::error_code embedded_cluster::set_round_trip_time(std::int32_t broker_id, std::chrono::milliseconds rtt) {
  return make_rdkafka_error(rd_kafka_mock_broker_set_rtt(impl_->cluster, broker_id, static_cast<int>(rtt.count())));
}

void embedded_cluster::push_request_errors(kafka_api api, std::span<const int> errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  codes.reserve(errors.size());
  for (int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, static_cast<std::int16_t>(api), codes.size(), codes.data());
}

void embedded_cluster::clear_request_errors(kafka_api api) {
  rd_kafka_mock_clear_request_errors(impl_->cluster, static_cast<std::int16_t>(api));
}

boost::system::error_code embedded_cluster::pending_broker_errors(std::int32_t broker_id, kafka_api api,
                                                                  std::size_t& count) {
  return make_rdkafka_error(
      rd_kafka_mock_broker_error_stack_cnt(impl_->cluster, broker_id, static_cast<std::int16_t>(api), &count));
}

boost::system::error_code embedded_cluster::push_broker_request_error(std::int32_t broker_id, kafka_api api, int err,
                                                                      std::chrono::milliseconds delay) {
  return make_rdkafka_error(rd_kafka_mock_broker_push_request_error_rtts(
      impl_->cluster, broker_id, static_cast<std::int16_t>(api), 1, static_cast<rd_kafka_resp_err_t>(err),
      static_cast<int>(delay.count())));
}

void embedded_cluster::set_topic_error(std::string_view topic, int err) {
  const std::string name(topic);
  rd_kafka_mock_topic_set_error(impl_->cluster, name.c_str(), static_cast<rd_kafka_resp_err_t>(err));
}

boost::system::error_code embedded_cluster::set_partition_leader(std::string_view topic, std::int32_t partition,
                                                                 std::int32_t broker_id) {
  const std::string name(topic);
  return make_rdkafka_error(rd_kafka_mock_partition_set_leader(impl_->cluster, name.c_str(), partition, broker_id));
}

boost::system::error_code embedded_cluster::set_group_coordinator(std::string_view group_id, std::int32_t broker_id) {
  const std::string key(group_id);
  return make_rdkafka_error(rd_kafka_mock_coordinator_set(impl_->cluster, "group", key.c_str(), broker_id));
}

namespace {
consumer_config quick(const embedded_cluster& cluster, std::string group) {
  consumer_config c;
  c.brokers = cluster.bootstrap_servers();
  c.group_id = std::move(group);
  c.commit_interval = std::chrono::milliseconds(100);
  c.shutdown_timeout = std::chrono::seconds(5);
  c.properties["fetch.wait.max.ms"] = "10";
  return c;
}
}  // namespace

consumer_config fast_consumer_config(const embedded_cluster& cluster, std::string group,
                                     const std::vector<std::pair<std::string, int>>& topics) {
  consumer_config c = quick(cluster, std::move(group));
  for (const auto& [topic, partitions] : topics) {
    c.topics.push_back(topic);
    for (int p = 0; p < partitions; ++p) c.manual_assignment.push_back({topic, p});
  }
  return c;
}

consumer_config group_consumer_config(const embedded_cluster& cluster, std::string group, std::vector<std::string> topics) {
  consumer_config c = quick(cluster, std::move(group));
  c.topics = std::move(topics);
  c.session_timeout = std::chrono::milliseconds(4000);
  c.heartbeat_interval = std::chrono::milliseconds(500);
  return c;
}

}  // namespace txova::kafka::testing
