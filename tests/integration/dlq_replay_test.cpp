// The DLQ replayer and the txova tool against the real broker (suite dlq_replay_real): a failing
// handler dead-letters records with reasons; a dry run changes nothing; a replay puts them back and
// the fixed handler handles each once; the replay headers; quarantine; Spring- and Connect-style
// dead letters in one shared DLQ; `txova dlq list`, `dlq replay --dry-run` and
// `tail -J | publish --raw` byte for byte.
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/replay.hpp>
#include <txova/kafka/topics.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include "plain_client.hpp"

#include <cstdio>
#include <map>
#include <set>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;
using txova::kafka::test::real_brokers;
using txova::kafka::test::unique_topic;

namespace {

std::string numbered(int n) {
  return to_json(make_envelope("test.numbered", "1.0", "{\"n\":" + std::to_string(n) + "}",
                               event_context{"replay-test", "", std::nullopt, std::nullopt}));
}

int number_of(const envelope& e) { return static_cast<int>(boost::json::parse(e.payload).at("n").as_int64()); }

void produce(const std::string& topic, const std::vector<test::record>& records) {
  auto res = test::produce({{"bootstrap.servers", real_brokers()}, {"enable.idempotence", "true"}}, topic, records);
  for (int e : res.errors) BOOST_TEST_REQUIRE(e == 0, "produce error " << e);
}

consumer_config source_config() {
  consumer_config c;
  c.brokers = real_brokers();
  c.session_timeout = 6s;
  c.heartbeat_interval = 500ms;
  c.commit_interval = 200ms;
  c.retry_backoff = 20ms;
  c.retry_backoff_max = 50ms;
  c.max_retries = 0;
  c.properties["fetch.wait.max.ms"] = "50";
  return c;
}

// Runs a consumer of `topic` in `group` whose handler is `handler` until `done()`, then stops it.
void consume_until(const std::string& topic, const std::string& group,
                   std::function<asio::awaitable<void>(const envelope&)> handler, const std::function<bool(const consumer&)>& done) {
  asio::io_context ioc;
  auto cfg = source_config();
  cfg.topics = {topic};
  cfg.group_id = group;
  consumer c(ioc.get_executor(), cfg);
  c.routes().on("*", [&](const envelope& e, message_context&) -> asio::awaitable<void> { co_await handler(e); });
  bool ran = false;
  c.async_run([&](error_code) { ran = true; });
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(ioc);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!done(c) && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(20ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    c.stop();
  }, asio::detached);
  ioc.run();
  BOOST_TEST(ran);
}

replay_options options_for(const std::string& dlq, const std::string& group) {
  replay_options o;
  o.dlq_topic = dlq;
  o.group_id = group;
  return o;
}

std::pair<error_code, replay_stats> republish(replay_options o) {
  asio::io_context ioc;
  replayer r(ioc.get_executor(), source_config(), std::move(o));
  auto f = r.async_republish(asio::use_future);
  ioc.run();
  try {
    return {{}, f.get()};
  } catch (const boost::system::system_error& e) {
    return {e.code(), r.stats()};
  }
}

// Runs the txova tool; its stdout.
std::string run_txova(const std::string& args, int* status = nullptr) {
  const std::string cmd = std::string(TXOVA_CLI) + " -b " + real_brokers() + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  BOOST_TEST_REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int rc = pclose(p);
  if (status) *status = WEXITSTATUS(rc);
  else BOOST_TEST(WEXITSTATUS(rc) == 0, cmd << " exited with " << WEXITSTATUS(rc) << ": " << out);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    if (nl > start) out.push_back(text.substr(start, nl - start));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dlq_replay_real)

BOOST_AUTO_TEST_CASE(dead_letters_are_listed_a_dry_run_changes_nothing_and_a_replay_is_handled_once) {
  const std::string topic = unique_topic("replay-src");
  const std::string dlq = dlq_topic(topic);
  test::create_topics({{topic, 3}, {dlq, 2}});
  std::vector<test::record> records;
  for (int i = 0; i < 30; ++i) records.push_back({"key-" + std::to_string(i % 7), numbered(i), -1, -1, {{"trace-id", "t" + std::to_string(i)}}});
  produce(topic, records);

  const std::string group = topic + "-service";
  consume_until(topic, group, [](const envelope& e) -> asio::awaitable<void> {
    throw permanent_error("bug 42: cannot handle n=" + std::to_string(number_of(e)));
    co_return;
  }, [](const consumer& c) { return c.stats().dead_lettered == 30; });
  BOOST_TEST_REQUIRE(test::end_offsets(real_brokers(), dlq, 2)[0] + test::end_offsets(real_brokers(), dlq, 2)[1] == 30);

  // txova dlq list: every dead letter with its reason; --summary counts them.
  const auto listed = lines_of(run_txova("dlq list " + dlq + " -J"));
  BOOST_TEST_REQUIRE(listed.size() == 30u);
  const auto first = boost::json::parse(listed[0]).as_object();
  BOOST_TEST(first.at("original_topic").as_string() == topic);
  BOOST_TEST(std::string(first.at("error").as_string()).starts_with("bug 42"));
  BOOST_TEST(first.at("type").as_string() == "test.numbered");
  BOOST_TEST(run_txova("dlq list " + dlq + " --summary").find("matched 30") != std::string::npos);

  // A dry run (library and tool) publishes and commits nothing.
  const std::string replay_group = topic + "-replay";
  auto o = options_for(dlq, replay_group);
  o.dry_run = true;
  auto [dry_ec, dry] = republish(o);
  BOOST_TEST(!dry_ec, dry_ec.message());
  BOOST_TEST(dry.matched == 30u);
  BOOST_TEST(dry.replayed == 0u);
  BOOST_TEST(lines_of(run_txova("dlq replay " + dlq + " --group " + replay_group + " --dry-run --type 'test.*'")).size() >= 30u);
  const auto end_before = test::end_offsets(real_brokers(), topic, 3);
  BOOST_TEST(end_before[0] + end_before[1] + end_before[2] == 30, "nothing republished");
  for (auto off : test::committed_offsets(real_brokers(), replay_group, dlq, 2)) BOOST_TEST(off < 0, "nothing committed");

  // The replay: every record back on its topic with its key, headers and the replay headers.
  auto [ec, s] = republish(options_for(dlq, replay_group));
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(s.replayed == 30u);
  BOOST_TEST(s.by_reason.size() == 30u, "each record's own reason");
  const auto all = test::consume({{"bootstrap.servers", real_brokers()}}, topic, 3, 60, 30s);
  BOOST_TEST_REQUIRE(all.size() == 60u);
  std::size_t replayed = 0;
  for (const auto& r : all) {
    if (test::header(r, replay_headers::replay_count) == "<absent>") continue;
    ++replayed;
    BOOST_TEST(test::header(r, replay_headers::replay_count) == "1");
    BOOST_TEST(test::header(r, replay_headers::replayed_from).starts_with(dlq + "/"));
    BOOST_TEST(test::header(r, "trace-id").starts_with("t"), "the original headers");
    const int n = number_of(parse_envelope(r.value).value());
    BOOST_TEST(r.key == "key-" + std::to_string(n % 7));
  }
  BOOST_TEST(replayed == 30u);

  // Fixed, the service handles each replayed record once (its group is past the originals).
  std::map<int, int> handled;
  consume_until(topic, group, [&](const envelope& e) -> asio::awaitable<void> {
    ++handled[number_of(e)];
    co_return;
  }, [&](const consumer&) { return handled.size() == 30; });
  BOOST_TEST(handled.size() == 30u);
  for (const auto& [n, times] : handled) BOOST_TEST(times == 1, "n=" << n << " handled " << times << " times");

  // Resumable: the replay group is at the end, a second replay has nothing to do.
  auto [again_ec, again] = republish(options_for(dlq, replay_group));
  BOOST_TEST(!again_ec);
  BOOST_TEST(again.seen == 0u);
}

BOOST_AUTO_TEST_CASE(a_record_replayed_n_times_is_quarantined_and_a_handler_replay_commits_on_success) {
  const std::string topic = unique_topic("replay-quarantine");
  const std::string dlq = dlq_topic(topic);
  test::create_topics({{topic, 1}, {dlq, 1}});
  std::vector<test::record> letters;
  for (int replays : {0, 3, 1}) {
    dead_letter d;
    d.original_topic = topic;
    d.original_partition = 0;
    d.original_offset = replays;
    d.original_key = "k";
    d.original_value = numbered(replays);
    d.error_message = "still failing";
    const auto r = dead_letter_record(d, dlq, {{"txova-replay-count", std::to_string(replays)}}, 1 << 20);
    letters.push_back({*r.key, *r.value, 0, -1, r.headers});
  }
  produce(dlq, letters);

  asio::io_context ioc;
  auto o = options_for(dlq, topic + "-replay");
  o.quarantine_after = 3;
  replayer r(ioc.get_executor(), source_config(), o);
  std::vector<int> handed;
  std::optional<std::pair<error_code, replay_stats>> out;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    auto [ec, s] = co_await r.async_replay([&](const envelope& e, const decoded_dead_letter& d) -> asio::awaitable<void> {
      handed.push_back(number_of(e));
      BOOST_TEST(d.failure.error_message == "still failing");
      co_return;
    }, asio::as_tuple(asio::use_awaitable));
    out.emplace(ec, s);
  }, asio::detached);
  ioc.run();
  BOOST_TEST_REQUIRE(out.has_value());
  BOOST_TEST(!out->first, out->first.message());
  BOOST_TEST(out->second.quarantined == 1u);
  BOOST_TEST(out->second.replayed == 2u);
  BOOST_TEST((handed == std::vector<int>{0, 1}), "the one replayed 3 times is not handed over");
  BOOST_TEST(test::committed_offsets(real_brokers(), topic + "-replay", dlq, 1)[0] == 3, "committed to the end");
}

BOOST_AUTO_TEST_CASE(spring_and_connect_dead_letters_in_one_shared_dlq_go_back_to_their_topics) {
  const std::string orders = unique_topic("replay-orders"), rides = unique_topic("replay-rides");
  const std::string shared = unique_topic("dlq-domain-services");
  test::create_topics({{orders, 1}, {rides, 1}, {shared, 1}});
  const std::string be32("\x00\x00\x00\x00", 4), be64("\x00\x00\x00\x00\x00\x00\x00\x07", 8);
  const std::string order_value = numbered(1);
  produce(shared, {{"order-1", order_value, 0, -1,
                    {{"kafka_dlt-original-topic", orders}, {"kafka_dlt-original-partition", be32},
                     {"kafka_dlt-original-offset", be64}, {"kafka_dlt-exception-message", "spring says no"}}},
                   {"ride-2", numbered(2), 0, -1,
                    {{"__connect.errors.topic", rides}, {"__connect.errors.partition", "0"},
                     {"__connect.errors.offset", "9"}, {"__connect.errors.exception.message", "connect says no"}}}});
  const auto listed = lines_of(run_txova("dlq list " + shared + " -J"));
  BOOST_TEST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(boost::json::parse(listed[0]).at("format").as_string() == "spring");
  BOOST_TEST(boost::json::parse(listed[0]).at("original_offset").as_int64() == 7);
  BOOST_TEST(boost::json::parse(listed[1]).at("format").as_string() == "connect");

  run_txova("dlq replay " + shared + " --group " + shared + "-replay");
  const auto o = test::consume({{"bootstrap.servers", real_brokers()}}, orders, 1, 1, 30s);
  const auto r = test::consume({{"bootstrap.servers", real_brokers()}}, rides, 1, 1, 30s);
  BOOST_TEST_REQUIRE(o.size() == 1u);
  BOOST_TEST_REQUIRE(r.size() == 1u);
  BOOST_TEST(o[0].key == "order-1");
  BOOST_TEST(o[0].value == order_value, "the original value, byte for byte");
  BOOST_TEST(test::header(o[0], "kafka_dlt-original-topic") == "<absent>", "Spring's failure headers stay behind");
  BOOST_TEST(test::header(o[0], replay_headers::replay_count) == "1");
  BOOST_TEST(r[0].key == "ride-2");
  BOOST_TEST(test::header(r[0], replay_headers::replayed_from) == shared + "/0/1");
}

BOOST_AUTO_TEST_CASE(tail_json_into_publish_raw_round_trips_byte_for_byte) {
  const std::string from = unique_topic("tail-from"), to = unique_topic("tail-to");
  test::create_topics({{from, 1}, {to, 1}});
  std::vector<test::record> records{
      {"k1", numbered(1), 0, -1, {{"a", "1"}, {"bin", std::string("\x00\xff\x10", 3)}}},
      {std::string("\xfe\xff", 2), std::string("\x01\x02 not json \xff", 14), 0, -1, {}},
      {"k3", "", 0, -1, {{"empty", ""}}},
  };
  produce(from, records);
  const std::string json = run_txova("tail " + from + " -o beginning -e -J");
  BOOST_TEST_REQUIRE(lines_of(json).size() == 3u);
  const std::string file = "/tmp/" + from + ".jsonl";
  {
    FILE* f = std::fopen(file.c_str(), "w");
    std::fwrite(json.data(), 1, json.size(), f);
    std::fclose(f);
  }
  run_txova("publish --raw --topic " + to + " " + file);
  std::remove(file.c_str());
  const auto got = test::consume({{"bootstrap.servers", real_brokers()}}, to, 1, 3, 30s);
  BOOST_TEST_REQUIRE(got.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(got[i].key == records[i].key);
    BOOST_TEST(got[i].value == records[i].value);
    BOOST_TEST((got[i].headers == records[i].headers));
  }
  {
    FILE* f = std::fopen(file.c_str(), "w");
    std::fputs("{\"id\":1}\n", f);
    std::fclose(f);
  }
  int status = 0;
  run_txova("publish --topic " + to + " " + file + " 2>&1", &status);
  std::remove(file.c_str());
  BOOST_TEST(status != 0, "an invalid envelope line is refused");
}

BOOST_AUTO_TEST_CASE(max_count_rate_and_a_failing_handler_that_stops_the_replay_uncommitted) {
  const std::string topic = unique_topic("replay-limits");
  const std::string dlq = dlq_topic(topic);
  test::create_topics({{topic, 1}, {dlq, 1}});
  std::vector<test::record> letters;
  for (int i = 0; i < 8; ++i) {
    dead_letter d;
    d.original_topic = topic;
    d.original_offset = i;
    d.original_value = numbered(i);
    d.error_message = "down";
    const auto r = dead_letter_record(d, dlq, {}, 1 << 20);
    letters.push_back({"k", *r.value, 0, -1, r.headers});
  }
  produce(dlq, letters);
  const std::string group = topic + "-replay";

  // At most 3, at most 20 per second: the three take at least 100 ms.
  auto o = options_for(dlq, group);
  o.max_count = 3;
  o.max_rate = 20;
  const auto t0 = std::chrono::steady_clock::now();
  auto [ec, s] = republish(o);
  const auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(s.replayed == 3u);
  BOOST_TEST(took >= 100ms);
  BOOST_TEST(test::committed_offsets(real_brokers(), group, dlq, 1)[0] == 3);

  // A handler that throws on n=5 ends the replay there: 3 and 4 handled, 5 stays uncommitted.
  asio::io_context ioc;
  replayer r(ioc.get_executor(), source_config(), options_for(dlq, group));
  std::vector<int> handed;
  auto f = r.async_replay([&](const envelope& e, const decoded_dead_letter&) -> asio::awaitable<void> {
    handed.push_back(number_of(e));
    if (number_of(e) == 5) throw std::runtime_error("still broken");
    co_return;
  }, asio::use_future);
  ioc.run();
  BOOST_CHECK_THROW(f.get(), boost::system::system_error);
  BOOST_TEST((handed == std::vector<int>{3, 4, 5}));
  BOOST_TEST(r.stats().failed == 1u);
  BOOST_TEST(test::committed_offsets(real_brokers(), group, dlq, 1)[0] == 5, "the failed record is where the next run starts");
}

BOOST_AUTO_TEST_CASE(a_dlq_that_does_not_exist_ends_the_replay_saying_so) {
  auto o = options_for(unique_topic("no-such-dlq"), "nobody");
  o.assignment_timeout = 3s;
  auto [ec, s] = republish(o);
  BOOST_TEST((ec == error::timed_out), ec.message());
  BOOST_TEST(s.seen == 0u);
  int status = 0;
  const std::string out = run_txova("--timeout 3 dlq list " + unique_topic("no-such-dlq") + " 2>&1", &status);
  BOOST_TEST(status == 3, out);
  BOOST_TEST(out.find("was assigned within 3 s") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
