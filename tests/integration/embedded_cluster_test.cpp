// The embedded cluster (librdkafka's mock cluster) and proof that each fault really takes effect.
#include "plain_client.hpp"

#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <map>
#include <set>

#include "../unit/test_support.hpp"

using namespace txova::kafka;
using testing::embedded_cluster;
using testing::kafka_api;
using namespace std::chrono_literals;

namespace {
std::vector<test::record> keyed(int n, int keys) {
  std::vector<test::record> out;
  for (int i = 0; i < n; ++i) out.push_back({"key-" + std::to_string(i % keys), "value-" + std::to_string(i), -1, -1, {}});
  return out;
}

std::map<std::string, std::string> producer_props(const embedded_cluster& c, std::chrono::milliseconds timeout = 10s) {
  return {{"bootstrap.servers", c.bootstrap_servers()},
          {"message.timeout.ms", std::to_string(timeout.count())},
          {"retry.backoff.ms", "10"},
          {"linger.ms", "0"}};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(embedded, *boost::unit_test::timeout(120))

BOOST_AUTO_TEST_CASE(creates_topics_and_round_trips_keyed_records) {
  embedded_cluster cluster(3);
  BOOST_TEST(cluster.broker_count() == 3);
  BOOST_TEST(std::count(cluster.bootstrap_servers().begin(), cluster.bootstrap_servers().end(), ',') == 2);
  BOOST_TEST(!cluster.create_topic("orders", 4));

  const auto sent = keyed(200, 10);
  auto produced = test::produce(producer_props(cluster), "orders", sent);
  std::set<std::int32_t> partitions;
  std::map<std::string, std::int32_t> partition_of_key;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    BOOST_TEST_REQUIRE(produced.errors[i] == 0);
    partitions.insert(produced.partitions[i]);
    auto [it, fresh] = partition_of_key.emplace(sent[i].key, produced.partitions[i]);
    BOOST_TEST(it->second == produced.partitions[i], "a key always lands on one partition");
  }
  BOOST_TEST(partitions.size() > 1u, "ten keys spread over four partitions");
  BOOST_TEST(*partitions.rbegin() < 4);

  auto got = test::consume({{"bootstrap.servers", cluster.bootstrap_servers()}}, "orders", 4, sent.size());
  BOOST_TEST(got.size() == sent.size());
}

BOOST_AUTO_TEST_CASE(invalid_arguments_are_reported) {
  BOOST_CHECK_THROW(embedded_cluster(0), diagnostic_error);
  embedded_cluster cluster(1);
  BOOST_TEST(cluster.set_broker_down(7).failed(), "there is no broker 7");
  BOOST_TEST(cluster.set_round_trip_time(9, 10ms).failed());
  BOOST_TEST(!cluster.create_topic("t", 2));
  BOOST_TEST(cluster.set_partition_leader("t", 5, 1).failed(), "there is no partition 5");
}

BOOST_AUTO_TEST_CASE(a_broker_down_fails_deliveries_and_up_recovers) {
  embedded_cluster cluster(1);
  BOOST_TEST(!cluster.create_topic("t", 1));
  BOOST_TEST(!cluster.set_broker_down(1));
  auto down = test::produce(producer_props(cluster, 1500ms), "t", keyed(3, 1), 20s);
  for (int err : down.errors)
    BOOST_TEST((err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT), rd_kafka_err2str(rd_kafka_resp_err_t(err)));
  BOOST_TEST(!cluster.set_broker_up(1));
  auto up = test::produce(producer_props(cluster), "t", keyed(3, 1));
  for (int err : up.errors) BOOST_TEST(err == 0);
}

BOOST_AUTO_TEST_CASE(moving_a_partition_leader_moves_where_produce_goes) {
  embedded_cluster cluster(2);
  BOOST_TEST(!cluster.create_topic("led", 1, 2));
  BOOST_TEST(!cluster.set_partition_leader("led", 0, 2));
  BOOST_TEST(!cluster.set_broker_down(1));  // the other broker: produce must not need it
  auto led_by_2 = test::produce(producer_props(cluster, 10s), "led", keyed(3, 1));
  for (int err : led_by_2.errors) BOOST_TEST(err == 0, rd_kafka_err2str(rd_kafka_resp_err_t(err)));
  BOOST_TEST(!cluster.set_broker_up(1));
  BOOST_TEST(!cluster.set_broker_down(2));
  BOOST_TEST(!cluster.set_partition_leader("led", 0, 2));  // still the downed broker: nothing gets through
  auto stuck = test::produce(producer_props(cluster, 1500ms), "led", keyed(1, 1), 20s);
  BOOST_TEST(stuck.errors[0] != 0);
  BOOST_TEST((cluster.set_partition_leader("nope", 0, 1) != boost::system::error_code{}), "unknown topic is an error");
}

namespace {
// Asks the group's coordinator for committed offsets (OffsetFetch), with a fresh consumer so no
// coordinator is cached; returns librdkafka's error.
rd_kafka_resp_err_t fetch_committed(const embedded_cluster& c, const std::string& group) {
  auto conf = detail::make_conf({{"bootstrap.servers", c.bootstrap_servers()}, {"group.id", group}});
  BOOST_TEST_REQUIRE(conf.has_value());
  auto rk = detail::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  BOOST_TEST_REQUIRE(rk.has_value());
  detail::partition_list_handle parts(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(parts.get(), "grouped", 0);
  const rd_kafka_resp_err_t err = rd_kafka_committed(rk->get(), parts.get(), 3000);
  rd_kafka_consumer_close(rk->get());
  return err;
}
}  // namespace

BOOST_AUTO_TEST_CASE(the_group_coordinator_can_be_moved_to_a_downed_broker) {
  embedded_cluster cluster(2);
  BOOST_TEST(!cluster.create_topic("grouped", 1, 2));
  BOOST_TEST(!cluster.set_group_coordinator("g-up", 1));
  BOOST_TEST(!cluster.set_group_coordinator("g-down", 2));
  BOOST_TEST(!cluster.set_broker_down(2));
  const auto up = fetch_committed(cluster, "g-up");
  BOOST_TEST(up == RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_err2str(up));
  const auto down = fetch_committed(cluster, "g-down");
  BOOST_TEST(down != RD_KAFKA_RESP_ERR_NO_ERROR, "the coordinator of g-down is the broker that is down");
}

BOOST_AUTO_TEST_CASE(pushed_retriable_errors_are_retried_then_succeed) {
  embedded_cluster cluster(1);
  BOOST_TEST(!cluster.create_topic("t", 1));
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(!cluster.push_broker_request_error(1, kafka_api::produce, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 0ms));
  std::size_t pending = 0;
  BOOST_TEST(!cluster.pending_broker_errors(1, kafka_api::produce, pending));
  BOOST_TEST(pending == 3u);
  auto r = test::produce(producer_props(cluster), "t", keyed(1, 1));
  BOOST_TEST(r.errors.at(0) == 0, rd_kafka_err2str(rd_kafka_resp_err_t(r.errors.at(0))));
  BOOST_TEST(!cluster.pending_broker_errors(1, kafka_api::produce, pending));
  BOOST_TEST(pending == 0u, "all three injected errors were served to the producer before it succeeded");
}

BOOST_AUTO_TEST_CASE(pushed_permanent_errors_fail_the_delivery_with_that_error) {
  embedded_cluster cluster(1);
  BOOST_TEST(!cluster.create_topic("t", 1));
  const std::array<int, 1> errors{RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED};
  cluster.push_request_errors(kafka_api::produce, errors);
  auto r = test::produce(producer_props(cluster), "t", keyed(1, 1));
  BOOST_TEST(r.errors.at(0) == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto again = test::produce(producer_props(cluster), "t", keyed(1, 1));
  BOOST_TEST(again.errors.at(0) == 0, "the error fired once");
}

BOOST_AUTO_TEST_CASE(added_round_trip_time_delays_acknowledgements) {
  embedded_cluster cluster(1);
  BOOST_TEST(!cluster.create_topic("t", 1));
  // Warm the connection and metadata first so the measured produce is one round trip.
  BOOST_TEST(test::produce(producer_props(cluster), "t", keyed(1, 1)).errors.at(0) == 0);
  BOOST_TEST(!cluster.set_round_trip_time(1, 400ms));
  auto slow = test::produce(producer_props(cluster), "t", keyed(1, 1));
  BOOST_TEST(slow.errors.at(0) == 0);
  // A lower bound only: a busy machine can make it slower, never faster.
  BOOST_TEST(slow.elapsed.count() >= 400, "acknowledged after " << slow.elapsed.count() << " ms");
}

BOOST_AUTO_TEST_CASE(a_topic_error_fails_requests_naming_the_topic) {
  embedded_cluster cluster(1);
  BOOST_TEST(!cluster.create_topic("t", 1));
  cluster.set_topic_error("t", RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto r = test::produce(producer_props(cluster, 3s), "t", keyed(1, 1), 20s);
  BOOST_TEST(r.errors.at(0) != 0);
  cluster.set_topic_error("t", RD_KAFKA_RESP_ERR_NO_ERROR);
  BOOST_TEST(test::produce(producer_props(cluster), "t", keyed(1, 1)).errors.at(0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
