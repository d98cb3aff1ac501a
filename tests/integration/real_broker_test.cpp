// Against the real Apache Kafka broker that the kafka_broker CTest fixture starts.
#include "plain_client.hpp"

#include <txova/kafka/admin.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <set>
#include <tuple>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using txova::kafka::test::real_brokers;
using txova::kafka::test::unique_topic;

namespace {
// Runs `fn` (returning an awaitable) to completion on a fresh io_context.
template <class F>
auto run(F&& fn) {
  asio::io_context ioc;
  auto fut = asio::co_spawn(ioc, std::forward<F>(fn), asio::use_future);
  ioc.run();
  return fut.get();
}

admin_config admin_cfg() { return {.brokers = real_brokers()}; }

topic_spec small_topic(std::string name, int partitions) {
  return topic_spec{std::move(name), partitions, 1, std::chrono::hours(1), {}};
}
template <class... T>
std::vector<topic_spec> specs(T... t) {
  return {std::move(t)...};
}
template <class... T>
std::vector<std::string> names(T... n) {
  return {std::string(std::move(n))...};
}
}  // namespace

// A hang guard, not a timing goal: a stuck case fails with its name instead of eating the CTest timeout.
BOOST_AUTO_TEST_SUITE(real_broker, *boost::unit_test::timeout(120))

// GCC 12 cannot compile a braced initializer list inside a co_await expression ("array used as
// initializer"), so argument vectors are built first (specs(...)); the coroutines only gather
// results and the assertions follow run().
using topics_result = std::tuple<boost::system::error_code, std::vector<topic_outcome>>;
using describe_result = std::tuple<boost::system::error_code, topic_description>;

BOOST_AUTO_TEST_CASE(admin_creates_describes_and_deletes_topics) {
  const std::string topic = unique_topic("admin");
  topics_result created, again, deleted;
  describe_result described, gone;
  run([&]() -> asio::awaitable<void> {
    admin a(co_await asio::this_coro::executor, admin_cfg());
    auto token = asio::as_tuple(asio::use_awaitable);
    created = co_await a.async_create_topics(specs(small_topic(topic, 3)), token);
    // Creation completes on the controller before every broker knows the topic (seen once in
    // CI: DescribeConfigs right after CreateTopics answered unknown topic): ask again, bounded.
    asio::steady_timer known(co_await asio::this_coro::executor);
    for (int i = 0; i < 40; ++i) {
      described = co_await a.async_describe_topic(topic, token);
      if (std::get<0>(described) != make_rdkafka_error(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)) break;
      known.expires_after(std::chrono::milliseconds(250));
      co_await known.async_wait(asio::use_awaitable);
    }
    again = co_await a.async_create_topics(specs(small_topic(topic, 3)), token);
    deleted = co_await a.async_delete_topics(names(topic), token);
    // Deletion completes on the controller before every broker's metadata forgets the topic:
    // ask again until it is gone (bounded; the assertion below fails if it never is).
    asio::steady_timer wait(co_await asio::this_coro::executor);
    for (int i = 0; i < 40; ++i) {
      gone = co_await a.async_describe_topic(topic, token);
      if (std::get<0>(gone)) break;
      wait.expires_after(std::chrono::milliseconds(250));
      co_await wait.async_wait(asio::use_awaitable);
    }
  });
  BOOST_TEST(!std::get<0>(created), std::get<0>(created).message());
  BOOST_TEST_REQUIRE(std::get<1>(created).size() == 1u);
  BOOST_TEST(!std::get<1>(created)[0].ec, std::get<1>(created)[0].message);

  BOOST_TEST(!std::get<0>(described), std::get<0>(described).message());
  BOOST_TEST(std::get<1>(described).name == topic);
  BOOST_TEST(std::get<1>(described).configs.at("retention.ms") == "3600000");

  BOOST_TEST_REQUIRE(std::get<1>(again).size() == 1u);
  const topic_outcome& dup = std::get<1>(again)[0];
  BOOST_TEST((dup.ec == make_rdkafka_error(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)), dup.message);
  BOOST_TEST(dup.message.find(topic) != std::string::npos, dup.message);

  BOOST_TEST(!std::get<0>(deleted));
  BOOST_TEST_REQUIRE(std::get<1>(deleted).size() == 1u);
  BOOST_TEST(!std::get<1>(deleted)[0].ec, std::get<1>(deleted)[0].message);

  BOOST_TEST((std::get<0>(gone) == make_rdkafka_error(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)), std::get<0>(gone).message());
}

BOOST_AUTO_TEST_CASE(a_bad_topic_name_is_refused_with_the_name) {
  topics_result result;
  run([&]() -> asio::awaitable<void> {
    admin a(co_await asio::this_coro::executor, admin_cfg());
    result = co_await a.async_create_topics(specs(small_topic("no spaces allowed!", 1), small_topic("x", 0)),
                                            asio::as_tuple(asio::use_awaitable));
  });
  auto& [ec, out] = result;
  BOOST_TEST(!ec);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  std::set<std::string> names;
  for (const auto& o : out) {
    names.insert(o.topic);
    BOOST_TEST(o.ec.failed(), o.topic);
    BOOST_TEST(o.message.find(o.topic) != std::string::npos, o.message);
  }
  BOOST_TEST(names.count("no spaces allowed!") == 1u);
  BOOST_TEST(names.count("x") == 1u);  // 0 partitions is refused before reaching the broker
}

BOOST_AUTO_TEST_CASE(ensure_topics_is_idempotent_and_reports_too_few_partitions) {
  const std::string a_topic = unique_topic("ensure-a"), b_topic = unique_topic("ensure-b");
  ensure_report first, second;
  std::vector<topic_outcome> cleanup;
  run([&]() -> asio::awaitable<void> {
    admin a(co_await asio::this_coro::executor, admin_cfg());
    first = co_await a.async_ensure_topics(specs(small_topic(a_topic, 2), small_topic(b_topic, 2)), asio::use_awaitable);
    second = co_await a.async_ensure_topics(specs(small_topic(a_topic, 2), small_topic(b_topic, 4)), asio::use_awaitable);
    cleanup = co_await a.async_delete_topics(names(a_topic, b_topic), asio::use_awaitable);
  });
  BOOST_TEST(first.ok());
  BOOST_TEST(first.created.size() == 2u);
  BOOST_TEST(second.created.empty());
  BOOST_TEST(second.existing.size() == 2u);
  BOOST_TEST(!second.ok());
  BOOST_TEST_REQUIRE(second.fewer_partitions.size() == 1u);
  BOOST_TEST(second.fewer_partitions[0].topic == b_topic);
  BOOST_TEST(second.fewer_partitions[0].message.find("fewer than the 4 partitions") != std::string::npos,
             second.fewer_partitions[0].message);
  BOOST_TEST(second.unverified.empty());
  BOOST_TEST(cleanup.size() == 2u);
}

BOOST_AUTO_TEST_CASE(ensure_topics_creates_the_catalog_topics_and_dlqs) {
  const auto catalog_specs = catalog_topics(txova_catalog(), {.partitions = 3, .replication_factor = 1});
  BOOST_TEST(catalog_specs.size() == 12u);  // six topics and their DLQs
  ensure_report first, second;
  topic_description dlq;
  run([&]() -> asio::awaitable<void> {
    admin a(co_await asio::this_coro::executor, admin_cfg());
    first = co_await a.async_ensure_topics(catalog_specs, asio::use_awaitable);
    second = co_await a.async_ensure_topics(catalog_specs);        // no token: deferred, co_awaited
    dlq = co_await a.async_describe_topic("txova.rides.v1.dlq");
  });
  BOOST_TEST(first.ok());
  BOOST_TEST(first.created.size() + first.existing.size() == 12u);
  BOOST_TEST(second.ok());
  BOOST_TEST(second.existing.size() == 12u);
  BOOST_TEST(dlq.configs.at("retention.ms") == "604800000");
}

BOOST_AUTO_TEST_CASE(admin_works_with_every_completion_token) {
  const std::string topic = unique_topic("tokens");
  asio::io_context ioc;
  admin a(ioc.get_executor(), admin_cfg());

  std::future<std::vector<topic_outcome>> fut = a.async_create_topics(specs(small_topic(topic, 1)), asio::use_future);
  bool called = false;
  a.async_describe_topic(topic + "-missing", [&](boost::system::error_code ec, topic_description) {
    called = true;
    BOOST_TEST(ec.failed());
  });
  auto op = a.async_delete_topics(names(topic + "-never"), asio::deferred);
  bool deferred_ran = false;
  std::move(op)([&](boost::system::error_code, std::vector<topic_outcome> out) {
    deferred_ran = true;
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST((out[0].ec == make_rdkafka_error(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)), out[0].message);
  });
  ioc.run();
  BOOST_TEST(called);
  BOOST_TEST(deferred_ran);
  auto created = fut.get();
  BOOST_TEST_REQUIRE(created.size() == 1u);
  BOOST_TEST(!created[0].ec);
}

BOOST_AUTO_TEST_CASE(cancelling_stops_the_wait_and_destruction_aborts_pending_ops) {
  asio::io_context ioc;
  std::optional<admin> a(std::in_place, ioc.get_executor(), admin_cfg());
  asio::cancellation_signal signal;
  boost::system::error_code cancelled_ec, destroyed_ec;
  a->async_describe_topic("txova.rides.v1",
                          asio::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, topic_description) {
                            cancelled_ec = ec;
                          }));
  a->async_describe_topic("txova.rides.v1", [&](boost::system::error_code ec, topic_description) { destroyed_ec = ec; });
  signal.emit(asio::cancellation_type::terminal);
  a.reset();
  ioc.run();
  BOOST_TEST((cancelled_ec == asio::error::operation_aborted), cancelled_ec.message());
  BOOST_TEST((destroyed_ec == asio::error::operation_aborted), destroyed_ec.message());
}

BOOST_AUTO_TEST_CASE(plain_librdkafka_round_trip_keeps_bytes_keys_and_headers) {
  const std::string topic = unique_topic("roundtrip");
  std::vector<topic_outcome> created;
  run([&]() -> asio::awaitable<void> {
    admin a(co_await asio::this_coro::executor, admin_cfg());
    created = co_await a.async_create_topics(specs(small_topic(topic, 3)), asio::use_awaitable);
  });
  BOOST_TEST_REQUIRE(created.size() == 1u);
  BOOST_TEST_REQUIRE(!created[0].ec, created[0].message);
  std::vector<test::record> sent;
  for (const std::string& text : test::golden_envelope_texts()) {
    auto e = parse_envelope(text);
    BOOST_TEST_REQUIRE(e.has_value());
    sent.push_back({partition_key(*e).value(), text, -1, -1, {{"event-type", e->type}, {"event-id", e->id}}});
  }
  const std::map<std::string, std::string> props{{"bootstrap.servers", real_brokers()}};
  auto produced = test::produce(props, topic, sent);
  for (std::size_t i = 0; i < sent.size(); ++i) BOOST_TEST(produced.errors[i] == 0, rd_kafka_err2str(rd_kafka_resp_err_t(produced.errors[i])));

  auto got = test::consume(props, topic, 3, sent.size());
  BOOST_TEST_REQUIRE(got.size() == sent.size());
  std::map<std::string, const test::record*> by_value;
  for (const auto& r : got) by_value[r.value] = &r;
  std::map<std::string, std::int32_t> partition_of_key;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto it = by_value.find(sent[i].value);
    BOOST_TEST_REQUIRE((it != by_value.end()), "envelope came back byte-identical");
    BOOST_TEST(it->second->key == sent[i].key);
    BOOST_TEST((it->second->headers == sent[i].headers));
    BOOST_TEST(it->second->partition == produced.partitions[i]);
    auto [pos, fresh] = partition_of_key.emplace(sent[i].key, it->second->partition);
    BOOST_TEST(pos->second == it->second->partition, "one key, one partition");
  }
}

BOOST_AUTO_TEST_SUITE_END()
