// txova-eventlog-bench: the event log's figures (docs/event-log.md).
//   1. events stored per second from a backlog: N events on a topic, then event_logger (the
//      service's loop) stores them all into a fresh SQLite file;
//   2. query latency on a store of 1 million events: by correlation id (a chain), by key, by
//      type pattern and time, by time range; each asked 200 times, p50 and p99.
// Embedded cluster by default, --brokers HOST:PORT for a real one.
#include "bench_common.hpp"

#include <txova/kafka/event_log_sqlite.hpp>
#include <txova/kafka/event_logger.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>
#include <txova/kafka/testing/scratch_topic.hpp>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace txova::kafka::bench;

namespace {

envelope event_of(std::int64_t i, timestamp t) {
  envelope e;
  e.id = new_uuid();
  // Types outside the catalog (its payload rules do not apply): three domains, a third each.
  e.type = i % 3 == 0 ? "benchride.completed" : i % 3 == 1 ? "benchpay.initiated" : "benchdriver.moved";
  e.version = "1.0";
  e.source = "bench";
  e.time = t;
  e.correlation_id = "chain-" + std::to_string(i / 5);  // chains of 5
  if (i % 5) e.causation_id = "cause-" + std::to_string(i - 1);
  e.payload = R"({"ride_id":"ride-)" + std::to_string(i % 100000) + R"(","fare":{"amount":35000,"currency":"MZN"}})";
  return e;
}

void remove_db(const std::string& path) {
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
}

template <class F>
void latency(const char* what, int n, F query) {
  std::vector<double> ms;
  std::size_t rows = 0;
  for (int i = 0; i < n; ++i) {
    const auto t0 = clock_type::now();
    rows += query(i);
    ms.push_back(ms_since(t0));
  }
  std::sort(ms.begin(), ms.end());
  std::printf("eventlog_query kind=%s p50_ms=%.3f p99_ms=%.3f rows_per_query=%.1f\n", what, ms[ms.size() / 2],
              ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], static_cast<double>(rows) / n);
}

int ingestion(const std::string& brokers, std::optional<testing::embedded_cluster>& cluster, int count) {
  std::string topic = "bench-eventlog-" + new_uuid().substr(0, 8);
  if (cluster) cluster->create_topic(topic, 3);
  else topic = testing::scratch_topic(brokers, "bench-eventlog", 3).name();
  {
    progress("[ingest] producing a backlog of %d events to %s", count, topic.c_str());
    asio::io_context ioc;
    producer_config pc;
    pc.brokers = brokers;
    pc.linger = std::chrono::milliseconds(20);
    producer p(ioc.get_executor(), pc);
    const timestamp t = now_utc();
    int acked = 0, failed = 0;
    std::string first_error;
    for (int i = 0; i < count; ++i) {
      envelope e = event_of(i, t);
      p.async_publish(e, publish_options{.topic = topic, .key = e.correlation_id}, [&](boost::system::error_code ec, delivery d) {
        if (!ec) return void(++acked);
        if (failed++ == 0) first_error = d.error_message.empty() ? ec.message() : d.error_message;
      });
      if (i % 5000 == 4999 || i + 1 == count) {  // a window of 5000 in flight
        const auto until = clock_type::now() + std::chrono::seconds(60);
        while (acked + failed <= i && clock_type::now() < until) {
          ioc.restart();  // an io_context that ran out of work stays stopped until restarted
          ioc.run_one_for(std::chrono::milliseconds(100));
        }
        if (acked + failed <= i) {
          std::printf("eventlog_ingest not measured (publishes stalled: %d of %d completed)\n", acked + failed, i + 1);
          return 1;
        }
      }
    }
    p.async_close(std::chrono::seconds(120), [](auto, auto) {});
    ioc.restart();
    ioc.run();
    if (failed) {
      std::printf("eventlog_ingest not measured (%d of %d publishes failed: %s)\n", failed, count, first_error.c_str());
      return 1;
    }
    progress("[ingest] %d events on %s; storing them", acked, topic.c_str());
  }
  const std::string path = (std::filesystem::temp_directory_path() / ("eventlog-ingest-" + new_uuid().substr(0, 8) + ".db")).string();
  auto store = open_sqlite_event_log(path);
  if (!store) return std::printf("eventlog_ingest not measured (%s)\n", store.error().message.c_str()), 1;
  asio::io_context ioc;
  event_logger_config cfg;
  cfg.source.brokers = brokers;
  cfg.source.group_id = topic + "-log";
  cfg.source.topics = {topic};
  event_logger log(ioc.get_executor(), **store, cfg);
  log.async_run([](boost::system::error_code) {});
  clock_type::time_point first{};
  const auto deadline = clock_type::now() + std::chrono::seconds(300);
  while (log.stats().stored < static_cast<std::uint64_t>(count) && clock_type::now() < deadline) {
    ioc.run_for(std::chrono::milliseconds(5));
    if (first == clock_type::time_point{} && log.stats().stored > 0) first = clock_type::now();
  }
  const auto end = clock_type::now();
  const auto stored = log.stats().stored;
  log.stop();
  ioc.run_for(std::chrono::seconds(10));
  store->reset();
  remove_db(path);
  if (stored < static_cast<std::uint64_t>(count) || first == clock_type::time_point{})
    return std::printf("eventlog_ingest not measured (stored %llu of %d)\n", static_cast<unsigned long long>(stored), count), 1;
  std::printf("eventlog_ingest events=%d stored_per_s=%.0f (from the first stored batch to the last)\n", count,
              static_cast<double>(count) / seconds_between(first, end));
  return 0;
}

int queries(int count) {
  const std::string path = (std::filesystem::temp_directory_path() / ("eventlog-query-" + new_uuid().substr(0, 8) + ".db")).string();
  auto store = open_sqlite_event_log(path);
  if (!store) return std::printf("eventlog_query not measured (%s)\n", store.error().message.c_str()), 1;
  progress("[query] filling a store with %d events", count);
  const timestamp t0 = now_utc() - std::chrono::hours(24 * 30);
  const auto fill0 = clock_type::now();
  std::vector<logged_event> batch;
  for (int i = 0; i < count; ++i) {
    logged_event e;
    e.topic = "txova.rides.v1";
    e.partition = i % 12;
    e.offset = i / 12;
    e.event = event_of(i, t0 + std::chrono::seconds(i * 2));  // a month of events
    e.key = "ride-" + std::to_string(i % 100000);
    e.value = to_json(*e.event);
    batch.push_back(std::move(e));
    if (batch.size() == 5000 || i + 1 == count) {
      if (auto d = (*store)->append(batch, {})) return std::printf("eventlog_query not measured (%s)\n", d.message.c_str()), 1;
      batch.clear();
    }
  }
  std::printf("eventlog_store events=%d inserted_per_s=%.0f (direct, batches of 5000)\n", count,
              count / seconds_between(fill0, clock_type::now()));
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> any(0, count - 1);
  auto& s = **store;
  latency("correlation", 200, [&](int) { return s.query(event_query{.correlation_id = "chain-" + std::to_string(any(rng) / 5)})->size(); });
  latency("key", 200, [&](int) { return s.query(event_query{.key = "ride-" + std::to_string(any(rng) % 100000)})->size(); });
  latency("type_since_limit100", 200, [&](int) {
    return s.query(event_query{.type = "benchride.*", .since = t0 + std::chrono::seconds(any(rng) * 2), .limit = 100})->size();
  });
  latency("time_range_1h", 200, [&](int) {
    const auto from = t0 + std::chrono::seconds(any(rng) * 2);
    return s.query(event_query{.since = from, .until = from + std::chrono::hours(1)})->size();
  });
  store->reset();
  remove_db(path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers;
  if (const char* b = std::getenv("KAFKA_BROKERS")) brokers = b;
  int backlog = 200000, stored = 1000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--brokers") brokers = argv[i + 1];
    else if (a == "--backlog") backlog = std::atoi(argv[i + 1]);
    else if (a == "--stored") stored = std::atoi(argv[i + 1]);
  }
  spdlog::set_level(spdlog::level::warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::optional<testing::embedded_cluster> cluster;
  if (brokers.empty()) {
    cluster.emplace(1);
    brokers = cluster->bootstrap_servers();
  }
  const int a = backlog > 0 ? ingestion(brokers, cluster, backlog) : 0;
  const int b = stored > 0 ? queries(stored) : 0;
  return a || b;
}
