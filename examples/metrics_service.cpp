// A service that publishes rides and bills them, with metrics and health on HTTP, on the embedded
// cluster (or KAFKA_BROKERS). One io_context, no threads of its own:
//   metrics-service [--port 9464] [--rides 200] [--linger-s 0]
// While it runs: curl -s 127.0.0.1:9464/metrics, curl -i 127.0.0.1:9464/health/ready.
// It prints its own /metrics at the end, so the example shows the figures without curl.
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/metrics.hpp>
#include <txova/kafka/metrics_endpoint.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  unsigned short port = 9464;
  int rides = 200, linger_s = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--rides")) rides = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--linger-s")) linger_s = std::atoi(argv[i + 1]);
  }
  std::optional<testing::embedded_cluster> cluster;
  std::string brokers = std::getenv("KAFKA_BROKERS") ? std::getenv("KAFKA_BROKERS") : "";
  if (brokers.empty()) {
    cluster.emplace(1);
    brokers = cluster->bootstrap_servers();
    cluster->create_topic(topics::rides, 3);
    cluster->create_topic(topics::payments, 3);
  }
  asio::io_context ioc;
  metrics m;
  producer out(ioc.get_executor(), producer_config{.brokers = brokers});
  out.use(m.producer_middleware());
  m.watch(out.telemetry());  // its retries, dead letters, queue depth
  consumer_config cfg{.brokers = brokers, .service = "billing", .topics = {std::string(topics::rides)}};
  cfg.session_timeout = 6s;
  cfg.heartbeat_interval = 1s;
  consumer in(ioc.get_executor(), cfg);
  in.use(m.consumer_middleware());
  m.watch(in.telemetry());  // its timeouts, dead letters, commits, rebalances and lag

  metrics_endpoint http(ioc.get_executor(), m, {.address = "127.0.0.1", .port = port});
  http.add_readiness_check("producer", [&]() -> asio::awaitable<std::string> {
    auto [ec, h] = co_await out.async_health_check(2s, asio::as_tuple(asio::use_awaitable));
    co_return h.healthy ? std::string{} : h.detail;
  });
  http.add_readiness_check("consumer", [&]() -> asio::awaitable<std::string> {
    auto [ec, h] = co_await in.async_health_check(asio::as_tuple(asio::use_awaitable));
    co_return h.healthy && h.assigned_partitions > 0 ? std::string{} : (h.detail.empty() ? "no partition assigned yet" : h.detail);
  });
  std::printf("metrics on http://127.0.0.1:%u/metrics, health on /health/live and /health/ready\n", http.port());
  std::fflush(stdout);

  int billed = 0;
  in.routes().on<events::ride_completed>([&](const events::ride_completed& ride, message_context& ctx) -> asio::awaitable<void> {
    events::payment_initiated pay{};
    pay.payment_id = ids::payment_id("pay-" + std::string(ctx.key()));
    pay.ride_id = ride.ride_id;
    pay.amount = ride.fare;
    pay.method = "mpesa";
    co_await out.async_publish(pay, ctx.follow_up("billing-service"));
    if (++billed == rides) {
      asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        asio::steady_timer t(ioc, std::chrono::seconds(linger_s));  // time to curl it
        co_await t.async_wait(asio::use_awaitable);
        std::printf("billed %d rides; /metrics now says:\n%s", billed, m.render().c_str());
        in.stop();
        http.stop();
      }, asio::detached);
    }
  });
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < rides; ++i) {
      events::ride_completed r{};
      r.ride_id = ids::ride_id("ride-" + std::to_string(i));
      r.end_time = now_utc();
      r.distance_km = 3.5;
      r.duration_mins = 12;
      r.fare = money::minor(10000 + i, "MZN");
      co_await out.async_publish(r, event_context{.source = "ride-service"});
    }
  }, asio::detached);
  boost::system::error_code result;
  in.async_run([&](boost::system::error_code ec) { result = ec; });
  http.async_run([](boost::system::error_code) {});
  ioc.run();
  return result || billed != rides ? 1 : 0;
}
