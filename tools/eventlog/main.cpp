// txova-eventlog: the event log service (docs/event-log.md). Consumes a set of topics (default:
// every topic of the catalog) in its own group and stores every record, with where it came from,
// in a SQLite file; resumes from the store's offsets, so a kill -9 loses and repeats nothing.
#include <txova/kafka/event_log_sqlite.hpp>
#include <txova/kafka/event_logger.hpp>
#include <txova/kafka/log.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

namespace asio = boost::asio;
using namespace txova::kafka;

int main(int argc, char** argv) {
  std::string db = "txova-eventlog.db";
  event_logger_config cfg;
  if (const char* b = std::getenv("KAFKA_BROKERS")) cfg.source.brokers = b;
  std::int64_t max_age_s = 0;
  std::uint64_t max_events = 0;
  std::size_t batch = cfg.batch_records;
  CLI::App app{"txova-eventlog: store every event of a set of topics for audit and replay (docs/event-log.md)", "txova-eventlog"};
  app.add_option("-b,--brokers", cfg.source.brokers, "bootstrap brokers (default: KAFKA_BROKERS)")->required();
  app.add_option("--db", db, "the SQLite file")->capture_default_str();
  app.add_option("--group", cfg.source.group_id, "the consumer group (default txova-eventlog)");
  app.add_option("--topic", cfg.source.topics, "a topic to log (repeatable; default: the catalog's topics)");
  app.add_option("--max-age", max_age_s, "prune events older than this many seconds (0: keep)");
  app.add_option("--max-events", max_events, "prune the oldest beyond this many events (0: keep)");
  std::vector<std::string> properties;
  app.add_option("-X", properties, "a librdkafka property prop=value for the consumer (repeatable)")->take_all();
  app.add_option("--batch", batch, "records per store transaction")->capture_default_str()->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);
  set_logger(spdlog::stderr_color_mt("txova-eventlog"));
  logger()->set_level(spdlog::level::warn);
  if (max_age_s > 0) cfg.keep.max_age = std::chrono::seconds(max_age_s);
  if (max_events > 0) cfg.keep.max_events = max_events;
  cfg.batch_records = batch;
  for (const auto& p : properties) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "txova-eventlog: -X %s is not prop=value\n", p.c_str());
      return 2;
    }
    cfg.source.properties[p.substr(0, eq)] = p.substr(eq + 1);
  }

  auto store = open_sqlite_event_log(db);
  if (!store) {
    std::fprintf(stderr, "txova-eventlog: %s\n", store.error().message.c_str());
    return 1;
  }
  asio::io_context ioc(1);
  std::optional<event_logger> log;
  try {
    log.emplace(ioc.get_executor(), **store, cfg);
  } catch (const diagnostic_error& e) {
    std::fprintf(stderr, "txova-eventlog: %s\n", e.what());
    return 2;
  }
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) log->stop();
  });
  std::optional<boost::system::error_code> ran;
  log->async_run([&](boost::system::error_code ec) {
    ran = ec;
    signals.cancel();
  });
  // A progress line every 5 s while it stores.
  asio::steady_timer tick(ioc);
  std::uint64_t last = 0;
  std::function<void()> report = [&] {
    tick.expires_after(std::chrono::seconds(5));
    tick.async_wait([&](boost::system::error_code ec) {
      if (ec || ran) return;
      const auto s = log->stats();
      std::printf("txova-eventlog: stored %llu (%llu/s)\n", static_cast<unsigned long long>(s.stored),
                  static_cast<unsigned long long>((s.stored - last) / 5));
      std::fflush(stdout);
      last = s.stored;
      report();
    });
  };
  std::printf("txova-eventlog: logging to %s\n", db.c_str());
  std::fflush(stdout);
  report();
  ioc.run();
  const auto s = log->stats();
  std::printf("txova-eventlog: stored %llu events in %llu batches (%llu not envelopes), pruned %llu\n",
              static_cast<unsigned long long>(s.stored), static_cast<unsigned long long>(s.batches),
              static_cast<unsigned long long>(s.not_envelopes), static_cast<unsigned long long>(s.pruned));
  if (ran && *ran) {
    std::fprintf(stderr, "txova-eventlog: stopped: %s\n", log->failure() ? log->failure().message.c_str() : ran->message().c_str());
    return 1;
  }
  return 0;
}
