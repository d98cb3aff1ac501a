// The test kit's configurations for the embedded cluster (testing/embedded_cluster.hpp): a
// consumer that reads without a group join, and a group consumer that rejoins in seconds. The
// times they take are printed (docs/testing.md has them), not asserted.
#include "plain_client.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>
#include <txova/kafka/testing/envelopes.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <iostream>
#include <set>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;

namespace {

std::vector<test::record> rides(int n, int first = 0) {
  std::vector<test::record> out;
  for (int i = first; i < first + n; ++i) {
    const record_data d =
        testing::envelope_for(events::ride_started{ids::ride_id("ride-" + std::to_string(i)), now_utc(), location{-25.96, 32.58}})
            .record("txova.rides.v1");
    out.push_back({d.key.value_or(""), d.value.value_or(""), -1, -1, d.headers});
  }
  return out;
}

struct run_result {
  std::size_t handled = 0;
  std::chrono::milliseconds first_record{-1};
  std::set<std::string> ids;
};

// Runs a consumer with `cfg` until `want` records were handled (at most `limit`), then stops it.
run_result consume(const consumer_config& cfg, std::size_t want, std::chrono::milliseconds limit = 60s) {
  asio::io_context ioc;
  consumer c(ioc.get_executor(), cfg);
  run_result r;
  const auto start = std::chrono::steady_clock::now();
  c.routes().on("ride.*", [&](const envelope& e, message_context&) -> asio::awaitable<void> {
    if (r.handled++ == 0)
      r.first_record = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    r.ids.insert(e.id);
    co_return;
  });
  std::optional<error_code> ran;
  c.async_run([&](error_code ec) { ran = ec; });
  test::run_until(ioc, [&] { return r.handled >= want; }, limit);
  // A short grace: anything more than `want` would show up here.
  test::run_until(ioc, [] { return false; }, 300ms);
  c.stop();
  test::run_until(ioc, [&] { return ran.has_value(); }, 20s);
  BOOST_TEST((ran && !*ran), (ran ? ran->message() : "did not stop"));
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(testkit_cluster, *boost::unit_test::timeout(180))

BOOST_AUTO_TEST_CASE(a_fast_consumer_reads_without_a_group_join_and_the_next_resumes_from_its_commits) {
  testing::embedded_cluster cluster(1);
  const std::string topic = "txova.rides.v1";
  BOOST_TEST_REQUIRE(!cluster.create_topic(topic, 3));
  const std::map<std::string, std::string> props{{"bootstrap.servers", cluster.bootstrap_servers()}};
  BOOST_TEST_REQUIRE(test::produce(props, topic, rides(30)).errors == std::vector<int>(30, 0));

  const consumer_config cfg = testing::fast_consumer_config(cluster, "fast-billing", {{topic, 3}});
  BOOST_TEST(cfg.manual_assignment.size() == 3u);
  const run_result first = consume(cfg, 30);
  BOOST_TEST(first.handled == 30u);
  BOOST_TEST(first.ids.size() == 30u);
  const auto committed = test::committed_offsets(cluster.bootstrap_servers(), "fast-billing", topic, 3);
  std::int64_t total = 0;
  for (auto o : committed) total += std::max<std::int64_t>(o, 0);
  BOOST_TEST(total == 30, "every record's offset was committed for the group");

  BOOST_TEST_REQUIRE(test::produce(props, topic, rides(9, 30)).errors == std::vector<int>(9, 0));
  const run_result next = consume(cfg, 9);
  BOOST_TEST(next.handled == 9u, "the next consumer resumed from the commits: only the 9 new records");
  std::cout << "testkit fast_consumer first_record_ms=" << first.first_record.count()
            << " resumed_first_record_ms=" << next.first_record.count() << std::endl;
}

BOOST_AUTO_TEST_CASE(a_group_consumer_rejoins_a_group_the_cluster_knows) {
  testing::embedded_cluster cluster(1);
  const std::string topic = "txova.rides.v1";
  BOOST_TEST_REQUIRE(!cluster.create_topic(topic, 2));
  const std::map<std::string, std::string> props{{"bootstrap.servers", cluster.bootstrap_servers()}};
  BOOST_TEST_REQUIRE(test::produce(props, topic, rides(10)).errors == std::vector<int>(10, 0));

  const consumer_config cfg = testing::group_consumer_config(cluster, "group-billing", {topic});
  const run_result first = consume(cfg, 10);
  BOOST_TEST(first.handled == 10u);
  BOOST_TEST_REQUIRE(test::produce(props, topic, rides(4, 10)).errors == std::vector<int>(4, 0));
  const run_result next = consume(cfg, 4);
  BOOST_TEST(next.handled == 4u, "the rejoined group resumed from its commits");
  std::cout << "testkit group_consumer first_record_ms=" << first.first_record.count()
            << " rejoin_first_record_ms=" << next.first_record.count() << std::endl;
}

BOOST_AUTO_TEST_CASE(a_manual_assignment_names_real_partitions) {
  consumer_config cfg;
  cfg.brokers = "127.0.0.1:9";
  cfg.group_id = "g";
  cfg.manual_assignment = {{"txova.rides.v1", -1}};
  const diagnostic d = cfg.validate();
  BOOST_TEST((d.code == error::invalid_config));
  BOOST_TEST(d.field == "manual_assignment");
  BOOST_TEST(d.message.find("\"txova.rides.v1\"[-1]") != std::string::npos, d.message);
  cfg.manual_assignment = {{"txova.rides.v1", 0}};
  BOOST_TEST(!cfg.validate(), "no topics needed with a manual assignment: " << cfg.validate().message);
}

BOOST_AUTO_TEST_SUITE_END()
