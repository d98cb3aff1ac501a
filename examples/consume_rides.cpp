// Publishes a few completed rides and consumes them with a typed handler that publishes a
// follow-up event, on the embedded cluster (or KAFKA_BROKERS). One io_context, no threads.
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>

namespace asio = boost::asio;
using namespace txova::kafka;

int main() {
  std::optional<testing::embedded_cluster> cluster;
  std::string brokers = std::getenv("KAFKA_BROKERS") ? std::getenv("KAFKA_BROKERS") : "";
  if (brokers.empty()) {
    cluster.emplace(1);
    brokers = cluster->bootstrap_servers();
    cluster->create_topic(topics::rides, 3);
    cluster->create_topic(topics::payments, 3);
  }
  constexpr int rides = 5;
  asio::io_context ioc;
  producer out(ioc.get_executor(), producer_config{.brokers = brokers});

  consumer_config cfg{.brokers = brokers, .service = "billing", .topics = {std::string(topics::rides)}};
  cfg.session_timeout = std::chrono::seconds(6);  // the embedded cluster rebalances after session - 1 s
  cfg.heartbeat_interval = std::chrono::seconds(1);
  consumer in(ioc.get_executor(), cfg);
  int billed = 0;
  in.routes().on<events::ride_completed>(
      [&](const events::ride_completed& ride, message_context& ctx) -> asio::awaitable<void> {
        // The follow-up event continues the ride's chain: same correlation id, caused by it.
        events::payment_initiated pay{};
        pay.payment_id = ids::payment_id("pay-" + std::string(ctx.key()));
        pay.ride_id = ride.ride_id;
        pay.amount = ride.fare;
        pay.method = "mpesa";
        co_await out.async_publish(pay, ctx.follow_up("billing-service"));
        std::printf("billed %s: %lld %s (partition %d, offset %lld)\n", std::string(ctx.key()).c_str(),
                    static_cast<long long>(ride.fare.amount), ride.fare.currency.c_str(), ctx.partition(),
                    static_cast<long long>(ctx.offset()));
        if (++billed == rides) in.stop();
      });

  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < rides; ++i) {
      events::ride_completed r{};
      r.ride_id = ids::ride_id("ride-" + std::to_string(i));
      r.end_time = now_utc();
      r.distance_km = 3.5 + i;
      r.duration_mins = 10 + i;
      r.fare = money::minor(10000 + 1000 * i, "MZN");
      co_await out.async_publish(r, event_context{.source = "ride-service"});
    }
  }, asio::detached);
  boost::system::error_code result;
  in.async_run([&](boost::system::error_code ec) { result = ec; });
  ioc.run();
  std::printf("consumer stopped: %s, %d rides billed\n", result ? result.message().c_str() : "cleanly", billed);
  return result || billed != rides ? 1 : 0;
}
