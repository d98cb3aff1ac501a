// txova-membound: what a consumer holding many partitions keeps in memory (docs/consumer.md,
// Memory). A backlog on N partitions is read behind a slow handler, so every partition is held
// for backpressure; the process's resident memory is sampled and compared with the bound that
// the consumer's settings make.
//
//   txova-membound [--brokers HOST:PORT] [--partitions 48] [--records 5000] [--record-bytes 2048]
//                  [--handler-ms 20] [--seconds 15]
// Prints one line:
//   consume_memory partitions=<n> backlog_mb=<x> rss_before_mb=<x> rss_peak_mb=<x> growth_mb=<x>
//                  bound_mb=<x> in_flight_peak=<n>
// and exits non-zero when the growth is over the bound.
#include <txova/kafka/admin.hpp>
#include <txova/kafka/consumer.hpp>

#include "memory_bound.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;

namespace {

void write_backlog(const std::string& brokers, const std::string& topic, int partitions, int per_partition, int bytes) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (auto [k, v] : {std::pair{"bootstrap.servers", brokers.c_str()}, {"linger.ms", "20"}, {"batch.size", "1000000"},
                      {"queue.buffering.max.messages", "200000"}})
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const event_context ctx{.source = "membound"};
  const std::string text = to_json(make_envelope("bench.padded", "1.0",
                                                 "{\"pad\":\"" + std::string(static_cast<std::size_t>(std::max(bytes - 300, 1)), 'x') + "\"}",
                                                 ctx));
  for (int i = 0; i < per_partition; ++i)
    for (int p = 0; p < partitions; ++p)
      while (rd_kafka_produce(rkt, p, RD_KAFKA_MSG_F_COPY, const_cast<char*>(text.data()), text.size(), nullptr, 0, nullptr) == -1)
        rd_kafka_poll(rk, 5);
  rd_kafka_flush(rk, 120000);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers;
  int partitions = 48, per_partition = 5000, record_bytes = 2048, handler_ms = 20, seconds = 15;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&] {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return std::string(argv[++i]);
    };
    if (a == "--brokers") brokers = next();
    else if (a == "--partitions") partitions = std::stoi(next());
    else if (a == "--records") per_partition = std::stoi(next());
    else if (a == "--record-bytes") record_bytes = std::stoi(next());
    else if (a == "--handler-ms") handler_ms = std::stoi(next());
    else if (a == "--seconds") seconds = std::stoi(next());
    else {
      std::fprintf(stderr, "usage: txova-membound --brokers HOST:PORT [--partitions N] [--records N] [--record-bytes N]\n"
                           "                      [--handler-ms N] [--seconds N]\n(unknown option %s)\n", a.c_str());
      return 2;
    }
  }
  for (const char* var : {"TXOVA_KAFKA_BROKERS", "KAFKA_BROKERS"})
    if (const char* v = std::getenv(var); brokers.empty() && v && *v) brokers = v;
  if (brokers.empty()) {
    std::fprintf(stderr, "txova-membound: give --brokers (or KAFKA_BROKERS): a real broker, e.g. from scripts/kafka-broker start\n");
    return 2;
  }
  const std::string topic = "txova.bench.membound." + new_uuid().substr(0, 8);
  {
    asio::io_context ioc;
    admin a(ioc.get_executor(), admin_config{.brokers = brokers});
    auto f = a.async_create_topics({topic_spec{topic, partitions, 1, 1h, {}}}, asio::use_future);
    ioc.run();
    for (const auto& o : f.get())
      if (o.ec) {
        std::fprintf(stderr, "txova-membound: %s\n", o.message.c_str());
        return 1;
      }
  }
  std::printf("writing %d x %d records of %d bytes...\n", partitions, per_partition, record_bytes);
  std::fflush(stdout);
  write_backlog(brokers, topic, partitions, per_partition, record_bytes);

  consumer_config cfg;
  cfg.brokers = brokers;
  cfg.group_id = "membound-" + new_uuid().substr(0, 8);
  cfg.topics = {topic};
  cfg.max_message_bytes = static_cast<std::size_t>(record_bytes) * 2 + 4096;
  asio::io_context ioc;
  consumer c(ioc.get_executor(), cfg);
  c.routes().fallback([handler_ms](const envelope&, message_context&) -> asio::awaitable<void> {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(handler_ms));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  });
  const double before = bench::rss_mb();
  double peak = before;
  std::size_t in_flight_peak = 0, held_peak = 0;
  c.async_run([](boost::system::error_code) {});
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(ioc);
    for (int i = 0; i < seconds * 10; ++i) {
      t.expires_after(100ms);
      co_await t.async_wait(asio::use_awaitable);
      peak = std::max(peak, bench::rss_mb());
      const auto s = c.stats();
      in_flight_peak = std::max(in_flight_peak, s.in_flight);
      held_peak = std::max(held_peak, s.paused);
    }
    c.stop();
    c.stop();  // at once: the backlog is not meant to be finished
  }, asio::detached);
  ioc.run();

  const double mib = 1024.0 * 1024.0;
  const double bound = bench::consumer_memory_bound_mb(cfg, partitions, static_cast<std::size_t>(record_bytes));
  const double growth = peak - before;
  std::printf("consume_memory partitions=%d backlog_mb=%.0f rss_before_mb=%.0f rss_peak_mb=%.0f growth_mb=%.0f bound_mb=%.0f "
              "in_flight_peak=%zu held_peak=%zu\n",
              partitions, static_cast<double>(partitions) * per_partition * record_bytes / mib, before, peak, growth, bound,
              in_flight_peak, held_peak);
  return growth <= bound ? 0 : 1;
}
