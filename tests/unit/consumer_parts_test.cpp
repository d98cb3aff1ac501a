// Sans-IO parts of the consumer: routing precedence and the per-partition offset tracker.
#include <txova/kafka/config.hpp>
#include <txova/kafka/detail/offset_tracker.hpp>
#include <txova/kafka/detail/partition_flow.hpp>
#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/router.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <string>

#include "test_support.hpp"

using namespace txova::kafka;
using detail::offset_tracker;

BOOST_AUTO_TEST_SUITE(router_precedence)

std::string route_of(const basic_router<std::string>& r, std::string_view type, std::optional<unsigned> major = 1) {
  const std::string* h = r.find(type, major);
  return h ? *h : "<none>";
}

BOOST_AUTO_TEST_CASE(exact_beats_patterns_and_specific_beats_broad) {
  basic_router<std::string> r;
  BOOST_TEST(!r.try_on("*", "all"));
  BOOST_TEST(!r.try_on("user.*", "users"));
  BOOST_TEST(!r.try_on("user.registered", "registered"));
  BOOST_TEST(route_of(r, "user.registered") == "registered");
  BOOST_TEST(route_of(r, "user.verified") == "users");
  BOOST_TEST(route_of(r, "ride.completed") == "all");
  BOOST_TEST(route_of(r, "username.changed") == "all", "user.* does not match a longer first segment");
}

BOOST_AUTO_TEST_CASE(registration_order_does_not_matter) {
  basic_router<std::string> a, b;
  BOOST_TEST(!a.try_on("user.registered", "exact"));
  BOOST_TEST(!a.try_on("user.*", "prefix"));
  BOOST_TEST(!a.try_on("*", "all"));
  BOOST_TEST(!b.try_on("*", "all"));
  BOOST_TEST(!b.try_on("user.*", "prefix"));
  BOOST_TEST(!b.try_on("user.registered", "exact"));
  for (std::string_view t : {"user.registered", "user.deleted", "driver.approved"})
    BOOST_TEST(route_of(a, t) == route_of(b, t));
}

BOOST_AUTO_TEST_CASE(major_versions_live_side_by_side) {
  basic_router<std::string> r;
  BOOST_TEST(!r.try_on("ride.completed", "any version"));
  BOOST_TEST(!r.try_on("ride.completed", 2u, "v2"));
  BOOST_TEST(!r.try_on("ride.*", 3u, "rides v3"));
  BOOST_TEST(route_of(r, "ride.completed", 1) == "any version");
  BOOST_TEST(route_of(r, "ride.completed", 2) == "v2");
  BOOST_TEST(route_of(r, "ride.completed", 3) == "any version", "exact type outranks a versioned wildcard");
  BOOST_TEST(route_of(r, "ride.started", 3) == "rides v3");
  BOOST_TEST(route_of(r, "ride.started", 1) == "<none>");
  BOOST_TEST(route_of(r, "ride.completed", std::nullopt) == "any version");
}

BOOST_AUTO_TEST_CASE(bad_or_duplicate_patterns_are_refused_with_the_pattern) {
  basic_router<std::string> r;
  auto d = r.try_on("User.*", "x");
  BOOST_TEST((d.code == error::invalid_config));
  BOOST_TEST(d.message.find("\"User.*\"") != std::string::npos, d.message);
  BOOST_TEST(r.try_on("*.completed", "x").message.find("trailing") != std::string::npos);
  BOOST_TEST(r.try_on("", "x").code.failed());
  BOOST_TEST(r.try_on("ride", "x").code.failed());
  BOOST_TEST(r.try_on("ride..x", "x").code.failed());
  BOOST_TEST(!r.try_on("ride.*", "x"));
  d = r.try_on("ride.*", "y");
  BOOST_TEST(d.message.find("already registered") != std::string::npos, d.message);
  BOOST_TEST(!r.try_on("ride.*", 2u, "y"), "a versioned route of the same pattern is another route");
  BOOST_TEST(route_of(r, "ride.started") == "x");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(offset_tracking)

BOOST_AUTO_TEST_CASE(out_of_order_completion_commits_only_the_contiguous_prefix) {
  offset_tracker t;
  for (std::int64_t o = 10; o < 15; ++o) BOOST_TEST(t.dispatched(o));
  BOOST_TEST(*t.committable() == 10, "nothing done: commit the start");
  BOOST_TEST(t.done(12));
  BOOST_TEST(t.done(14));
  BOOST_TEST(*t.committable() == 10, "10 is still in progress");
  BOOST_TEST(t.done(10));
  BOOST_TEST(*t.committable() == 11);
  BOOST_TEST(t.done(11));
  BOOST_TEST(*t.committable() == 13, "12 was done already; 13 is the first in progress");
  BOOST_TEST(t.done(13));
  BOOST_TEST(*t.committable() == 15, "all done: one past the last");
  BOOST_TEST(t.in_progress() == 0u);
}

BOOST_AUTO_TEST_CASE(commits_are_reported_once_and_gaps_are_fine) {
  offset_tracker t(20);  // the group had committed 20 when the partition was assigned
  BOOST_TEST(t.dispatched(20));
  BOOST_TEST(!t.committable(), "committing 20 again is not progress");
  BOOST_TEST(t.dispatched(25));  // 21-24 compacted away
  BOOST_TEST(t.done(20));
  BOOST_TEST(*t.committable() == 25);
  t.committed(25);
  BOOST_TEST(!t.committable());
  BOOST_TEST(t.done(25));
  BOOST_TEST(*t.committable() == 26);
}

BOOST_AUTO_TEST_CASE(rejects_what_it_cannot_account_for) {
  offset_tracker t;
  BOOST_TEST(!t.committable());
  BOOST_TEST(t.dispatched(5));
  BOOST_TEST(!t.dispatched(5), "a redelivered offset is not dispatched twice");
  BOOST_TEST(!t.dispatched(3));
  BOOST_TEST(!t.done(4), "never dispatched");
  BOOST_TEST(t.done(5));
  BOOST_TEST(!t.done(5), "done twice");
  BOOST_TEST(!t.dispatched(-1));
}

BOOST_AUTO_TEST_CASE(random_completion_order_never_commits_past_an_unfinished_record) {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    offset_tracker t;
    std::vector<std::int64_t> offsets(200);
    std::iota(offsets.begin(), offsets.end(), 1000);
    for (auto o : offsets) t.dispatched(o);
    std::shuffle(offsets.begin(), offsets.end(), rng);
    std::set<std::int64_t> finished;
    for (auto o : offsets) {
      BOOST_TEST_REQUIRE(t.done(o));
      finished.insert(o);
      const std::int64_t c = *t.committable();
      for (std::int64_t below = 1000; below < c; ++below) BOOST_TEST_REQUIRE(finished.count(below) == 1u);
      BOOST_TEST_REQUIRE((c == 1200 || finished.count(c) == 0u), "the committed position is the first unfinished");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(consumer_config_suite)

BOOST_AUTO_TEST_CASE(defaults_are_the_documented_ones) {
  consumer_config c;
  c.brokers = "127.0.0.1:9092";
  c.service = "billing";
  c.topics = {"txova.payments.v1"};
  BOOST_TEST(!c.validate(), c.validate().message);
  BOOST_TEST(c.effective_group_id() == "billing-group");
  const auto p = c.rdkafka_properties();
  BOOST_TEST(p.at("group.id") == "billing-group");
  BOOST_TEST(p.at("auto.offset.reset") == "earliest");
  BOOST_TEST(p.at("enable.auto.commit") == "false");
  BOOST_TEST(p.at("session.timeout.ms") == "30000");
  BOOST_TEST(p.at("heartbeat.interval.ms") == "10000");
  BOOST_TEST(c.max_poll_records == 100u);
  BOOST_TEST(c.max_retries == 3);
  BOOST_TEST(c.retry_backoff.count() == 1000);
  BOOST_TEST(c.handler_timeout.count() == 30000);
}

BOOST_AUTO_TEST_CASE(a_fetch_response_is_one_partitions_fetch_unless_configured) {
  consumer_config c;
  c.brokers = "127.0.0.1:9092";
  c.group_id = "g";
  c.topics = {"t"};
  auto p = c.rdkafka_properties();
  BOOST_TEST(p.at("fetch.message.max.bytes") == "1052672");
  BOOST_TEST(p.at("fetch.max.bytes") == "1052672", "librdkafka's 50 MB default would let one response pin many partitions");
  c.max_message_bytes = 4 * 1024 * 1024;
  p = c.rdkafka_properties();
  BOOST_TEST(p.at("fetch.max.bytes") == p.at("fetch.message.max.bytes"));
  c.properties["message.max.bytes"] = "9000000";  // librdkafka refuses fetch.max.bytes below it
  BOOST_TEST(c.rdkafka_properties().at("fetch.max.bytes") == "9000000");
  BOOST_TEST(!c.validate(), c.validate().message);
  c.properties["fetch.max.bytes"] = "52428800";
  BOOST_TEST(c.rdkafka_properties().at("fetch.max.bytes") == "52428800");
}

BOOST_AUTO_TEST_CASE(validate_names_the_bad_field_and_auto_commit_cannot_be_turned_on) {
  consumer_config c;
  c.brokers = "b:1";
  BOOST_TEST(c.validate().field == "group_id");
  c.service = "s";
  BOOST_TEST(c.validate().field == "topics");
  c.topics = {"t"};
  c.auto_offset_reset = "smallest";
  auto d = c.validate();
  BOOST_TEST(d.field == "auto_offset_reset");
  BOOST_TEST(d.message.find("\"smallest\"") != std::string::npos, d.message);
  c.auto_offset_reset = "latest";
  c.heartbeat_interval = c.session_timeout;
  BOOST_TEST(c.validate().field == "heartbeat_interval");
  c.heartbeat_interval = std::chrono::milliseconds(3000);
  c.properties["enable.auto.commit"] = "true";
  BOOST_TEST(c.validate().field == "enable.auto.commit");
  BOOST_TEST(c.rdkafka_properties().at("enable.auto.commit") == "false");
}

BOOST_AUTO_TEST_CASE(shutdown_statistics_and_dead_letter_settings) {
  consumer_config c;
  c.brokers = "b:1";
  c.service = "s";
  c.topics = {"t"};
  BOOST_TEST(c.shutdown_timeout.count() == 30000);
  BOOST_TEST(c.statistics_interval.count() == 5000);
  BOOST_TEST(c.dead_letter);
  BOOST_TEST(c.rdkafka_properties().at("statistics.interval.ms") == "5000");
  c.shutdown_timeout = std::chrono::milliseconds(0);
  auto d = c.validate();
  BOOST_TEST(d.field == "shutdown_timeout");
  BOOST_TEST(d.message.find("0 ms") != std::string::npos, d.message);
  c.shutdown_timeout = std::chrono::milliseconds(500);
  c.dead_letter_producer = producer_config{};  // no brokers
  d = c.validate();
  BOOST_TEST(d.field == "dead_letter_producer.brokers", d.field);
  c.dead_letter_producer.reset();
  BOOST_TEST(!c.validate(), c.validate().message);

  auto env = consumer_config::from_env({{"KAFKA_BROKERS", "k:9"}, {"KAFKA_CONSUMER_SHUTDOWN_TIMEOUT_MS", "1500"},
                                        {"KAFKA_CONSUMER_DEAD_LETTER", "false"}},
                                       c);
  BOOST_TEST_REQUIRE(env.has_value());
  BOOST_TEST(env->shutdown_timeout.count() == 1500);
  BOOST_TEST(!env->dead_letter);
  BOOST_TEST(env->properties.count("shutdown.timeout.ms") == 0u, "typed variables are not passed through");
  auto bad = consumer_config::from_env({{"KAFKA_CONSUMER_SHUTDOWN_TIMEOUT_MS", "soon"}}, c);
  BOOST_TEST_REQUIRE(!bad.has_value());
  BOOST_TEST(bad.error().message.find("KAFKA_CONSUMER_SHUTDOWN_TIMEOUT_MS") != std::string::npos, bad.error().message);
}

BOOST_AUTO_TEST_CASE(from_env_reads_typed_and_pass_through_variables) {
  const std::map<std::string, std::string> env{{"KAFKA_BROKERS", "k:9092"},
                                               {"KAFKA_GROUP_ID", "billing"},
                                               {"KAFKA_CONSUMER_MAX_RETRIES", "5"},
                                               {"KAFKA_CONSUMER_HANDLER_TIMEOUT_MS", "2500"},
                                               {"KAFKA_CONSUMER_COOPERATIVE", "true"},
                                               {"KAFKA_CONSUMER_FETCH_WAIT_MAX_MS", "10"}};
  auto c = consumer_config::from_env(env);
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->brokers == "k:9092");
  BOOST_TEST(c->effective_group_id() == "billing");
  BOOST_TEST(c->max_retries == 5);
  BOOST_TEST(c->handler_timeout.count() == 2500);
  BOOST_TEST(c->cooperative);
  BOOST_TEST(c->rdkafka_properties().at("partition.assignment.strategy") == "cooperative-sticky");
  BOOST_TEST(c->properties.at("fetch.wait.max.ms") == "10");
  const std::map<std::string, std::string> bad_env{{"KAFKA_CONSUMER_MAX_RETRIES", "lots"}};
  auto bad = consumer_config::from_env(bad_env);
  BOOST_TEST_REQUIRE(bad.has_error());
  BOOST_TEST(bad.error().message.find("KAFKA_CONSUMER_MAX_RETRIES=\"lots\"") != std::string::npos, bad.error().message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(handler_failures)

BOOST_AUTO_TEST_CASE(thrown_failures_are_classified) {
  auto kind = [](auto ex) { return classify_handler_failure(std::make_exception_ptr(ex)); };
  BOOST_TEST((kind(business_error("already refunded")).kind == handler_failure::business));
  BOOST_TEST(kind(business_error("already refunded")).message == "already refunded");
  BOOST_TEST((kind(permanent_error("no driver")).kind == handler_failure::permanent));
  BOOST_TEST((kind(transient_error("db timeout")).kind == handler_failure::transient));
  BOOST_TEST((kind(std::runtime_error("unclassified")).kind == handler_failure::transient));
  BOOST_TEST((kind(42).kind == handler_failure::transient));
  const auto bad_payload = kind(diagnostic_error(make_diagnostic(error::wrong_type, "payload.fare", "payload.fare must be an object")));
  BOOST_TEST((bad_payload.kind == handler_failure::permanent));
  BOOST_TEST(bad_payload.message == "payload.fare must be an object");
}

BOOST_AUTO_TEST_CASE(transient_failures_back_off_then_dead_letter) {
  const backoff_policy b{std::chrono::milliseconds(1000), std::chrono::milliseconds(30000), 2.0, 0.5};
  using detail::next_step;
  auto d1 = detail::decide(handler_failure::transient, 1, 3, b, 0.0);
  auto d3 = detail::decide(handler_failure::transient, 3, 3, b, 0.0);
  auto d4 = detail::decide(handler_failure::transient, 4, 3, b, 0.0);
  BOOST_TEST((d1.step == next_step::retry));
  BOOST_TEST(d1.delay.count() == 1000);
  BOOST_TEST((d3.step == next_step::retry));
  BOOST_TEST(d3.delay.count() == 4000);
  BOOST_TEST((d4.step == next_step::dead_letter), "three retries after the first attempt, then DLQ");
  BOOST_TEST((detail::decide(handler_failure::permanent, 1, 3, b, 0.0).step == next_step::dead_letter));
  BOOST_TEST((detail::decide(handler_failure::business, 1, 3, b, 0.0).step == next_step::skip));
  BOOST_TEST((detail::decide(handler_failure::transient, 1, 0, b, 0.0).step == next_step::dead_letter));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(partition_backpressure)

BOOST_AUTO_TEST_CASE(pauses_at_the_limit_and_resumes_at_half_without_flapping) {
  using detail::partition_flow;
  partition_flow f(100);
  for (int i = 0; i < 99; ++i) BOOST_TEST_REQUIRE((f.queued() == partition_flow::action::none));
  BOOST_TEST((f.queued() == partition_flow::action::pause));
  BOOST_TEST(f.paused());
  // Records already fetched keep arriving after the pause: no second pause.
  for (int i = 0; i < 20; ++i) BOOST_TEST_REQUIRE((f.queued() == partition_flow::action::none));
  BOOST_TEST(f.depth() == 120u);
  int resumes = 0;
  for (int i = 0; i < 70; ++i) resumes += f.finished() == partition_flow::action::resume;
  BOOST_TEST(resumes == 1);
  BOOST_TEST(f.depth() == 50u);
  BOOST_TEST(!f.paused());
  // Near the limit again: paused only when it is reached, not at every record.
  for (int i = 0; i < 49; ++i) BOOST_TEST_REQUIRE((f.queued() == partition_flow::action::none));
  BOOST_TEST((f.queued() == partition_flow::action::pause));
}

BOOST_AUTO_TEST_CASE(a_limit_of_one_pauses_after_each_record) {
  using detail::partition_flow;
  partition_flow f(0);  // treated as 1
  BOOST_TEST((f.queued() == partition_flow::action::pause));
  BOOST_TEST((f.finished() == partition_flow::action::resume));
  BOOST_TEST((f.finished() == partition_flow::action::none), "finishing more than was queued is harmless");
  BOOST_TEST(f.depth() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

#include <txova/kafka/detail/statistics.hpp>

BOOST_AUTO_TEST_SUITE(consumer_statistics)

BOOST_AUTO_TEST_CASE(reads_lag_and_high_watermark_of_real_partitions) {
  const std::string json = R"({"name":"c#consumer-1","topics":{"txova.rides.v1":{"topic":"txova.rides.v1","partitions":{
    "0":{"partition":0,"hi_offset":120,"consumer_lag":7,"committed_offset":113},
    "1":{"partition":1,"hi_offset":40,"consumer_lag":-1},
    "-1":{"partition":-1,"hi_offset":-1,"consumer_lag":-1}}}}})";
  auto parts = detail::parse_partition_statistics(json);
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.partition < b.partition; });
  BOOST_TEST_REQUIRE(parts.size() == 2u, "librdkafka's internal partition -1 is skipped");
  BOOST_TEST(parts[0].topic == "txova.rides.v1");
  BOOST_TEST(parts[0].partition == 0);
  BOOST_TEST(parts[0].consumer_lag == 7);
  BOOST_TEST(parts[0].hi_offset == 120);
  BOOST_TEST(parts[1].consumer_lag == -1);
}

BOOST_AUTO_TEST_CASE(malformed_statistics_give_nothing_and_never_throw) {
  for (std::string_view bad : {"", "not json", "[]", R"({"topics":7})", R"({"topics":{"t":{"partitions":[]}}})",
                               R"({"topics":{"t":{"partitions":{"x1":{"consumer_lag":3}}}}})",
                               R"({"topics":{"t":{"partitions":{"0":{"consumer_lag":"3"}}}}})"}) {
    std::vector<detail::partition_statistics> parts;
    BOOST_CHECK_NO_THROW(parts = detail::parse_partition_statistics(bad));
    for (const auto& p : parts) BOOST_TEST(p.consumer_lag == -1, bad);
  }
}

BOOST_AUTO_TEST_CASE(tracker_position_is_the_first_offset_not_done) {
  offset_tracker t(10);
  BOOST_TEST(t.position() == 10, "nothing fetched: the committed offset");
  t.dispatched(10);
  t.dispatched(11);
  t.dispatched(13);
  BOOST_TEST(t.position() == 10);
  t.done(11);
  BOOST_TEST(t.position() == 10);
  t.done(10);
  BOOST_TEST(t.position() == 13);
  t.done(13);
  BOOST_TEST(t.position() == 14, "all done: one past the last seen");
  BOOST_TEST(offset_tracker().position() == -1);
}

BOOST_AUTO_TEST_SUITE_END()
