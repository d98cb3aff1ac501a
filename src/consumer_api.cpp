// What consumer.hpp calls.
#include "consumer_core.hpp"

namespace txova::kafka::detail {


std::shared_ptr<consumer_core> make_consumer_core(boost::asio::any_io_executor ex, consumer_config cfg) {
  if (auto d = cfg.validate()) boost::throw_exception(diagnostic_error(d));
  auto strand = boost::asio::make_strand(ex);
  auto port = make_rdkafka_consumer_port(strand, cfg);
  return std::make_shared<consumer_core>(std::move(ex), std::move(strand), std::move(cfg), std::move(port), nullptr);
}
std::shared_ptr<consumer_core> make_consumer_core(boost::asio::any_io_executor ex, consumer_config cfg,
                                                  std::unique_ptr<consumer_port> port,
                                                  std::unique_ptr<producer_port> dead_letters) {
  auto strand = boost::asio::make_strand(ex);
  return std::make_shared<consumer_core>(std::move(ex), std::move(strand), std::move(cfg), std::move(port),
                                         std::move(dead_letters));
}
router& routes(consumer_core& c) { return c.routes(); }
void start_run(consumer_core& c, run_handler h) { c.run(std::move(h)); }
void start_next_record(consumer_core& c, record_handler h) { c.next_record(std::move(h)); }
void mark_done(consumer_core& c, const consumed_record& r) { c.mark_done(r); }
void abandon(consumer_core& c, const consumed_record& r) { c.abandon(r); }
void use(consumer_core& c, consumer_middleware mw) { c.use(std::move(mw)); }
void use(consumer_core& c, std::shared_ptr<handler_observer> o) { c.use(std::move(o)); }
void start_health_check(consumer_core& c, consumer_health_handler h) { c.health_check(std::move(h)); }
void stop(consumer_core& c) { c.stop(); }
consumer_stats stats(const consumer_core& c) { return c.stats(); }

std::vector<partition_lag> consumer_core::lag_snapshot() const {
  lag_watched_.store(true, std::memory_order_relaxed);
  std::lock_guard lock(lag_mutex_);
  return lag_snapshot_;
}
std::vector<partition_lag> lag(const consumer_core& c) { return c.lag(); }
diagnostic failure(const consumer_core& c) { return c.failure(); }
void destroy(consumer_core& c) noexcept { c.destroy_soon(); }

}  // namespace txova::kafka::detail

namespace txova::kafka {

consumer_telemetry::consumer_telemetry(const std::shared_ptr<detail::consumer_core>& c) : core_(c), group_(c->group()) {}

std::optional<consumer_stats> consumer_telemetry::stats() const {
  if (auto c = core_.lock()) return c->stats();
  return std::nullopt;
}

std::vector<partition_lag> consumer_telemetry::lag() const {
  if (auto c = core_.lock()) return c->lag_snapshot();
  return {};
}

}  // namespace txova::kafka
