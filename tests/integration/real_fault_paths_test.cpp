// Regression tests for the fault paths only a real broker reaches (suite fault_paths_real): a
// dead letter larger than the DLQ takes, a DLQ that does not exist, binary keys and tombstones
// as the broker stores them, and what a consumer holding many partitions keeps in memory.
#include "plain_client.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/detail/base64.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/events/all.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using txova::kafka::test::run_until;
using test::real_brokers;

namespace {

std::string ride_event(int i) {
  const event_context ctx{.source = "fault-test"};
  return to_json(make_envelope(events::ride_started{ids::ride_id("ride-" + std::to_string(i)), now_utc(),
                                                    location{-25.96, 32.58}},
                               ctx));
}

consumer_config real_consumer(const std::string& topic) {
  consumer_config cfg;
  cfg.brokers = real_brokers();
  cfg.group_id = "fault-real-" + new_uuid().substr(0, 8);
  cfg.topics = {topic};
  cfg.commit_interval = 200ms;
  cfg.retry_backoff = 50ms;
  cfg.retry_backoff_max = 200ms;
  return cfg;
}

// Runs `c` until `done` (or `limit`), then stops it and waits for the end of its run.
error_code run_consumer(asio::io_context& ioc, consumer& c, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  std::optional<error_code> ran;
  c.async_run([&](error_code ec) { ran = ec; });
  run_until(ioc, [&] { return done() || ran.has_value(); }, limit);
  c.stop();
  run_until(ioc, [&] { return ran.has_value(); }, 60s);
  BOOST_TEST_REQUIRE(ran.has_value(), "the consumer stopped");
  return *ran;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fault_paths_real, *boost::unit_test::timeout(300))

// Before: the 2 MB record's dead letter (the original embedded as base64, x1.33) was over the
// DLQ producer's limit; the write was retried forever and the 147 records behind it waited for
// good, while SIGTERM still reported a clean stop.
BOOST_AUTO_TEST_CASE(a_dead_letter_too_large_for_the_dlq_is_written_without_the_copy_and_the_partition_goes_on) {
  const std::string topic = test::unique_topic("big");
  const std::map<std::string, std::string> big{{"max.message.bytes", "4194304"}};
  test::create_topic_specs({topic_spec{topic, 1, 1, 1h, big}, topic_spec{dlq_topic(topic), 1, 1, 1h, big}});
  std::vector<test::record> records;
  for (int i = 0; i < 148; ++i) records.push_back({"ride-" + std::to_string(i), i == 82 ? std::string(2000000, 'x') : ride_event(i)});
  // Idempotent, so the 148 records are stored in the order sent: without it a busy broker made
  // librdkafka 2.0.2 store a retried batch after a later one, and the offsets checked below moved.
  auto sent = test::produce({{"bootstrap.servers", real_brokers()}, {"message.max.bytes", "5000000"}, {"enable.idempotence", "true"}},
                            topic, records);
  for (int e : sent.errors) BOOST_TEST_REQUIRE(e == 0);

  asio::io_context ioc;
  const consumer_config cfg = real_consumer(topic);
  consumer c(ioc.get_executor(), cfg);
  std::size_t handled = 0;
  c.routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    ++handled;
    co_return;
  });
  const error_code ec = run_consumer(ioc, c, [&] { return handled == 147 && c.stats().dead_lettered == 1; }, 90s);
  BOOST_TEST(!ec, ec.message() << ": " << c.failure().message);
  BOOST_TEST(handled == 147u, "the records behind the big one");
  BOOST_TEST(c.stats().dead_lettered == 1u);
  auto dlq = test::consume({{"bootstrap.servers", real_brokers()}}, dlq_topic(topic), 1, 1, 20s);
  BOOST_TEST_REQUIRE(dlq.size() == 1u);
  const auto body = boost::json::parse(dlq[0].value).as_object();
  BOOST_TEST(body.at("original_offset").as_int64() == 82);
  BOOST_TEST(body.at("value_omitted").as_bool());
  BOOST_TEST(body.at("original_value_bytes").as_int64() == 2000000);
  BOOST_TEST(test::header(dlq[0], std::string(dlt_headers::value_omitted)) == "true");
  BOOST_TEST(test::committed_offsets(real_brokers(), cfg.group_id, topic, 1)[0] == 148, "committed past the big one");
}

// Before: a DLQ that cannot be written (here: it does not exist, and the broker does not create
// topics) was retried forever in silence, the partition stopped and health said healthy.
BOOST_AUTO_TEST_CASE(a_dlq_that_cannot_be_written_stops_the_consumer_with_the_record_the_dlq_and_the_reason) {
  const std::string topic = test::unique_topic("nodlq");
  test::create_topics({{topic, 1}});  // no DLQ topic
  test::produce({{"bootstrap.servers", real_brokers()}}, topic, {{"ride-0", "not an envelope"}, {"ride-1", ride_event(1)}});
  consumer_config cfg = real_consumer(topic);
  cfg.dead_letter_attempts = 2;
  producer_config dlq;
  dlq.brokers = real_brokers();
  dlq.dead_letter = false;
  dlq.delivery_timeout = 3000ms;
  dlq.properties["topic.metadata.propagation.max.ms"] = "1000";
  cfg.dead_letter_producer = dlq;
  asio::io_context ioc;
  consumer c(ioc.get_executor(), cfg);
  std::size_t handled = 0;
  c.routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    ++handled;
    co_return;
  });
  const auto start = std::chrono::steady_clock::now();
  const error_code ec = run_consumer(ioc, c, [] { return false; }, 60s);
  BOOST_TEST((ec == error::dead_letter_failed), ec.message());
  BOOST_TEST((std::chrono::steady_clock::now() - start < 45s), "bounded, not forever");
  const std::string why = c.failure().message;
  BOOST_TEST(why.find(topic + "[0]@0") != std::string::npos, why);
  BOOST_TEST(why.find(dlq_topic(topic)) != std::string::npos, why);
  BOOST_TEST(why.find("opic") != std::string::npos, "the broker's reason: " << why);
  BOOST_TEST(handled == 0u, "nothing past the record that could not be dead-lettered");
  const auto committed = test::committed_offsets(real_brokers(), cfg.group_id, topic, 1);
  BOOST_TEST(committed[0] < 1, "the record stays uncommitted");
}

// Before: a binary key came out of the DLQ as "\u0000\ufffd\ufffd\ufffd\u0001k", and a
// tombstone went to the DLQ as "not a valid envelope" with an empty raw_base64.
BOOST_AUTO_TEST_CASE(binary_keys_reach_the_dlq_exactly_and_tombstones_are_committed_and_counted) {
  const std::string topic = test::unique_topic("exact");
  test::create_topics({{topic, 1}, {dlq_topic(topic), 1}});
  const std::string key("\x00\xff\xfe\x01k", 5);
  test::record tombstone{"ride-9", ""};
  tombstone.tombstone = true;
  test::produce({{"bootstrap.servers", real_brokers()}}, topic, {{key, "not json"}, tombstone, {"ride-2", ride_event(2)}});
  asio::io_context ioc;
  consumer c(ioc.get_executor(), real_consumer(topic));
  std::size_t handled = 0;
  c.routes().on("ride.*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    ++handled;
    co_return;
  });
  const error_code ec = run_consumer(ioc, c, [&] { return handled == 1 && c.stats().dead_lettered == 1; }, 60s);
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(c.stats().tombstones == 1u);
  BOOST_TEST(c.stats().dead_lettered == 1u, "the tombstone is not a dead letter");
  auto dlq = test::consume({{"bootstrap.servers", real_brokers()}}, dlq_topic(topic), 1, 1, 20s);
  BOOST_TEST_REQUIRE(dlq.size() == 1u);
  const auto body = boost::json::parse(dlq[0].value).as_object();
  BOOST_TEST(body.at("original_key_base64").as_string() == detail::base64(key));
  BOOST_TEST(!body.contains("original_key"));
  BOOST_TEST(dlq[0].key == key);
}

BOOST_AUTO_TEST_SUITE_END()
