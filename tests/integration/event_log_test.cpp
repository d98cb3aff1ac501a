// The event log service: on the embedded cluster, the logger resumes from the store's offsets
// (group commits off, so nothing else could); on the real broker, txova-eventlog is killed with
// SIGKILL 10 times while it stores 50 000 events, and the store ends with each exactly once.
#include "plain_client.hpp"

#include <txova/kafka/event_log_sqlite.hpp>
#include <txova/kafka/event_logger.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>
#include <txova/kafka/testing/envelopes.hpp>
#include <txova/kafka/testing/scratch_topic.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test_support.hpp"

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;
using boost::system::error_code;

namespace {

std::vector<test::record> rides(int n, int first = 0) {
  std::vector<test::record> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = first; i < first + n; ++i) {
    const record_data d = testing::envelope_for(events::ride_started{ids::ride_id("ride-" + std::to_string(i)), now_utc(),
                                                                     location{-25.96, 32.58}})
                              .record("t");
    out.push_back({d.key.value_or(""), d.value.value_or(""), -1, -1, d.headers});
  }
  return out;
}

std::string temp_db() {
  return (std::filesystem::temp_directory_path() / ("txova-eventlog-test-" + new_uuid().substr(0, 8) + ".db")).string();
}

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// Every stored event: how many rows, how many distinct envelope ids and record positions.
struct census {
  std::size_t rows = 0, ids = 0, positions = 0;
};
census count_all(event_log_store& store) {
  census c;
  std::set<std::string> ids;
  std::set<std::tuple<std::string, std::int32_t, std::int64_t>> positions;
  event_query q;
  q.limit = 20000;
  for (;;) {
    auto page = store.query(q);
    BOOST_TEST_REQUIRE(page.has_value(), page.error().message);
    if (page->empty()) break;
    for (const auto& e : *page) {
      ++c.rows;
      if (e.event) ids.insert(e.event->id);
      positions.emplace(e.topic, e.partition, e.offset);
    }
    q.after_sequence = page->back().sequence;
  }
  c.ids = ids.size();
  c.positions = positions.size();
  return c;
}

// Runs an event_logger on `cfg` until it stored `want` records (or `limit`), then stops it.
event_logger_stats log_until(event_log_store& store, event_logger_config cfg, std::uint64_t want, std::chrono::milliseconds limit = 60s) {
  asio::io_context ioc;
  event_logger log(ioc.get_executor(), store, std::move(cfg));
  std::optional<error_code> ran;
  log.async_run([&](error_code ec) { ran = ec; });
  test::run_until(ioc, [&] { return log.stats().stored >= want || ran.has_value(); }, limit);
  test::run_until(ioc, [] { return false; }, 300ms);  // anything beyond `want` would be stored now
  log.stop();
  test::run_until(ioc, [&] { return ran.has_value(); }, 30s);
  BOOST_TEST((ran && !*ran), (ran ? ran->message() + " " + log.failure().message : "did not stop"));
  return log.stats();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_log_embedded, *boost::unit_test::timeout(240))

BOOST_AUTO_TEST_CASE(the_logger_stores_every_record_and_resumes_from_the_stores_offsets) {
  testing::embedded_cluster cluster(1);
  const std::string topic = "txova.rides.v1";
  BOOST_TEST_REQUIRE(!cluster.create_topic(topic, 3));
  const std::map<std::string, std::string> props{{"bootstrap.servers", cluster.bootstrap_servers()}};
  auto first = rides(600);
  first.push_back({"ride-x", "not an envelope", -1, -1, {}});
  BOOST_TEST_REQUIRE(test::produce(props, topic, first).errors == std::vector<int>(601, 0));

  const std::string path = temp_db();
  auto store = open_sqlite_event_log(path);
  BOOST_TEST_REQUIRE(store.has_value());
  event_logger_config cfg;
  cfg.source = testing::fast_consumer_config(cluster, "eventlog-embedded", {{topic, 3}});
  cfg.source.commit_offsets = false;  // the group remembers nothing: only the store can say where to resume
  cfg.batch_records = 100;
  const auto one = log_until(**store, cfg, 601);
  BOOST_TEST(one.stored == 601u);
  BOOST_TEST(one.not_envelopes == 1u);

  BOOST_TEST_REQUIRE(test::produce(props, topic, rides(300, 600)).errors == std::vector<int>(300, 0));
  const auto two = log_until(**store, cfg, 300);
  BOOST_TEST(two.stored == 300u, "the second run stored only the new records");
  const census c = count_all(**store);
  BOOST_TEST(c.rows == 901u);
  BOOST_TEST(c.ids == 900u);
  BOOST_TEST(c.positions == 901u);
  store->reset();
  remove_db(path);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(event_log_real, *boost::unit_test::timeout(900))

BOOST_AUTO_TEST_CASE(ten_kills_during_fifty_thousand_events_leave_each_stored_once) {
  constexpr std::size_t total = 50000;
  const testing::scratch_topic t(test::real_brokers(), "eventlog-kills", 3);
  const auto produced = test::produce({{"bootstrap.servers", t.brokers()}, {"linger.ms", "20"}, {"enable.idempotence", "true"}},
                                      t.name(), rides(static_cast<int>(total)));
  for (int e : produced.errors) BOOST_TEST_REQUIRE(e == 0);
  const std::string path = temp_db();
  auto reader = open_sqlite_event_log(path);  // the test's own connection: reads while the service writes
  BOOST_TEST_REQUIRE(reader.has_value());

  const auto start = [&]() -> pid_t {
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string group = t.group();
      execl(TXOVA_EVENTLOG, TXOVA_EVENTLOG, "--brokers", t.brokers().c_str(), "--db", path.c_str(), "--topic", t.name().c_str(),
            "--group", group.c_str(), "--batch", "500", "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  };
  const auto stored = [&]() -> std::uint64_t {
    auto n = (*reader)->count();
    return n ? *n : 0;
  };
  std::mt19937 rng(7);
  int kills = 0;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t before = stored();
    const pid_t pid = start();
    BOOST_TEST_REQUIRE(pid > 0);
    // Killed while it stores: once its count moved, after 0-150 ms more.
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (stored() == before && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 150)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++kills;
    std::cout << "event_log kill " << round + 1 << ": stored " << stored() << " of " << total << std::endl;
  }
  BOOST_TEST(kills == 10, "every run was killed while it ran");
  const pid_t last = start();
  const auto until = std::chrono::steady_clock::now() + 300s;
  while (stored() < total && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(1s);  // more than `total` would show now
  ::kill(last, SIGTERM);
  int status = 0;
  waitpid(last, &status, 0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "the last run stopped cleanly on SIGTERM");
  const census c = count_all(**reader);
  BOOST_TEST(c.rows == total);
  BOOST_TEST(c.ids == total, "each event once");
  BOOST_TEST(c.positions == total);
  reader->reset();
  remove_db(path);
}

BOOST_AUTO_TEST_CASE(txova_events_queries_the_chain_as_a_tree_and_replays_it_with_replay_headers) {
  const testing::scratch_topic out(test::real_brokers(), "eventlog-replay", 1);
  const std::string path = temp_db();
  {
    auto store = open_sqlite_event_log(path);
    BOOST_TEST_REQUIRE(store.has_value());
    auto root = testing::envelope_for(events::ride_started{ids::ride_id("ride-7"), now_utc(), location{-25.96, 32.58}}).correlation("c-42");
    auto child = testing::raw_envelope("payment.initiated", "1.0", R"({"payment_id":"pay-7"})").caused_by(root.build());
    auto other = testing::envelope_for(events::ride_started{ids::ride_id("ride-8"), now_utc(), location{-25.96, 32.58}});
    std::vector<logged_event> batch{to_logged_event(child.consumed("txova.payments.v1", 0, 5)),
                                    to_logged_event(root.consumed("txova.rides.v1", 0, 9)),
                                    to_logged_event(other.consumed("txova.rides.v1", 0, 10))};
    BOOST_TEST_REQUIRE(!(*store)->append(batch, {}));
  }
  const auto cli = [&](const std::string& args) {
    const std::string cmd = std::string(TXOVA_CLI) + " -b " + test::real_brokers() + " events --db " + path + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    BOOST_TEST_REQUIRE(p != nullptr);
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
    const int rc = pclose(p);
    BOOST_TEST(WEXITSTATUS(rc) == 0, cmd << ": " << text);
    return text;
  };
  const std::string tree = cli("--correlation c-42");
  const auto ride_at = tree.find("ride.started"), payment_at = tree.find("  payment.initiated");
  BOOST_TEST((ride_at != std::string::npos && payment_at != std::string::npos && ride_at < payment_at),
             "the payment is under the ride that caused it:\n" << tree);
  BOOST_TEST(tree.find("ride-8") == std::string::npos);
  const std::string json = cli("--type 'ride.*' -J");
  BOOST_TEST(std::count(json.begin(), json.end(), '\n') == 2);
  BOOST_TEST(json.find("\"sequence\":") != std::string::npos, json);

  cli("--correlation c-42 --replay-to " + out.name());
  const auto replayed = test::consume({{"bootstrap.servers", out.brokers()}}, out.name(), 1, 2, 30s);
  BOOST_TEST_REQUIRE(replayed.size() == 2u);
  for (const auto& r : replayed) {
    BOOST_TEST(test::header(r, "txova-replay-count") == "1");
    BOOST_TEST(test::header(r, "txova-replayed-from").rfind("eventlog:txova.", 0) == 0u, test::header(r, "txova-replayed-from"));
  }
  remove_db(path);
}

BOOST_AUTO_TEST_SUITE_END()
