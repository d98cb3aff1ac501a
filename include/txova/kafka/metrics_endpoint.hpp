#pragma once
// An HTTP endpoint for operators, on the caller's io_context (Boost.Beast; no threads of ours):
//   GET /metrics       the metrics' Prometheus text (text/plain; version=0.0.4)
//   GET /health/live   200 while it runs
//   GET /health/ready  200 when every readiness check passes, else 503 with their reasons
//
//   metrics_endpoint http(ex, m, {.port = 9464});
//   http.add_readiness_check("producer", [&]() -> awaitable<std::string> {
//     auto [ec, h] = co_await producer.async_health_check(2s, as_tuple(use_awaitable));
//     co_return h.healthy ? "" : h.detail;          // empty: ready
//   });
//   co_await http.async_run();                     // until stop()
#include <txova/kafka/metrics.hpp>
#include <txova/kafka/detail/default_token.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <memory>
#include <string>

namespace txova::kafka {

struct metrics_endpoint_config {
  std::string address = "127.0.0.1";  ///< where to listen ("0.0.0.0" for every interface)
  unsigned short port = 9464;         ///< 0: any free port (port() says which)
};

/// A readiness check: completes with an empty string when ready, else why not.
using readiness_check = std::function<boost::asio::awaitable<std::string>()>;

namespace detail {
class endpoint_core;
using endpoint_done = boost::asio::any_completion_handler<void(boost::system::error_code)>;
std::shared_ptr<endpoint_core> make_endpoint_core(boost::asio::any_io_executor ex, const metrics& m, metrics_endpoint_config c);
unsigned short port(const endpoint_core&);
void add_readiness_check(endpoint_core&, std::string name, readiness_check check);
void start_run(const std::shared_ptr<endpoint_core>&, endpoint_done);
void stop(endpoint_core&);
}  // namespace detail

class metrics_endpoint {
public:
  using default_token = detail::default_token_t<boost::asio::any_io_executor>;

  /// Binds at once (throws boost::system::system_error naming the address when it cannot);
  /// serves once async_run runs. `m` must outlive it.
  metrics_endpoint(boost::asio::any_io_executor ex, const metrics& m, metrics_endpoint_config c = {})
      : core_(detail::make_endpoint_core(std::move(ex), m, std::move(c))) {}
  ~metrics_endpoint() {
    if (core_) detail::stop(*core_);
  }
  metrics_endpoint(metrics_endpoint&&) noexcept = default;

  /// The port it listens on.
  unsigned short port() const { return detail::port(*core_); }
  void add_readiness_check(std::string name, readiness_check check) {
    detail::add_readiness_check(*core_, std::move(name), std::move(check));
  }
  /// Serves until stop(); completes with (error_code).
  template <boost::asio::completion_token_for<void(boost::system::error_code)> Token = default_token>
  auto async_run(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [core = core_](auto handler) { detail::start_run(core, std::move(handler)); }, token);
  }
  /// Closes the listener and every open connection.
  void stop() { detail::stop(*core_); }

private:
  std::shared_ptr<detail::endpoint_core> core_;
};

}  // namespace txova::kafka
