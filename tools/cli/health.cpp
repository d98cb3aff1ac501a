// txova health [--consumer-topic T]: the producer's health check (a round trip through the
// cluster) and, with a topic, a consumer's (it joins a group of its own, waits for its assignment
// and reports its health). Exit 0 healthy, 1 unhealthy: for scripts and probes.
#include "cli.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>

namespace txova::cli {
namespace {

namespace asio = boost::asio;

bool producer_healthy(const global_options& g) {
  asio::io_context ioc;
  auto cfg = producer_config_from(g);
  const std::string brokers = cfg.brokers;
  kafka::producer p(ioc.get_executor(), std::move(cfg));
  kafka::health_report report;
  boost::system::error_code ec;
  p.async_health_check(std::chrono::seconds(g.timeout_s), [&](boost::system::error_code e, kafka::health_report r) {
    ec = e;
    report = std::move(r);
  });
  ioc.run();
  if (report.healthy) {
    std::printf("producer  healthy (round trip %lld ms)\n", static_cast<long long>(report.round_trip.count()));
    return true;
  }
  std::printf("producer  UNHEALTHY: %s\n", unreachable(g, brokers, report.detail.empty() ? ec.message() : report.detail).c_str());
  return false;
}

bool consumer_healthy(const global_options& g, const std::string& topic) {
  asio::io_context ioc;
  auto cfg = consumer_config_from(g);
  cfg.group_id = "txova-health-" + kafka::new_uuid().substr(0, 8);
  cfg.topics = {topic};
  cfg.auto_offset_reset = "latest";  // a probe: it reads nothing old
  cfg.dead_letter = false;
  kafka::consumer c(ioc.get_executor(), std::move(cfg));
  c.routes().on("*", [](const kafka::envelope&, kafka::message_context&) -> asio::awaitable<void> { co_return; });
  kafka::consumer_health health;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(ioc);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(g.timeout_s);
    do {
      t.expires_after(std::chrono::milliseconds(200));
      co_await t.async_wait(asio::use_awaitable);
      health = co_await c.async_health_check(asio::use_awaitable);
    } while (health.assigned_partitions == 0 && std::chrono::steady_clock::now() < deadline);
    c.stop();
  }, asio::detached);
  c.async_run([](boost::system::error_code) {});
  ioc.run();
  if (health.healthy && health.assigned_partitions > 0) {
    std::printf("consumer  healthy (%zu partitions of %s assigned)\n", health.assigned_partitions, topic.c_str());
    return true;
  }
  std::printf("consumer  UNHEALTHY: %s\n", health.assigned_partitions == 0
                                               ? ("no partition of " + topic + " assigned within " + std::to_string(g.timeout_s) + " s" +
                                                  (health.detail.empty() ? "" : ": " + health.detail)).c_str()
                                               : health.detail.c_str());
  return false;
}

}  // namespace

void add_health(CLI::App& app, const global_options& g) {
  auto topic = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("health", "health checks of a producer and (with --consumer-topic) a consumer; exit 1 when unhealthy");
  cmd->add_option("--consumer-topic", *topic, "also join a group of its own on this topic and check the consumer");
  cmd->callback([topic, &g] {
    bool ok = producer_healthy(g);
    if (!topic->empty()) ok = consumer_healthy(g, *topic) && ok;
    std::fflush(stdout);
    if (!ok) throw cli_error("unhealthy", 1);
  });
}

}  // namespace txova::cli
