// metrics_endpoint.hpp: one acceptor coroutine and one coroutine per connection (HTTP/1.1 with
// keep-alive, a 30 s idle limit, requests of at most 8 KiB), all on the caller's executor.
#include <txova/kafka/metrics_endpoint.hpp>

#include <txova/kafka/log.hpp>
#include <txova/kafka/detail/completion_queue.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <list>
#include <vector>

namespace txova::kafka::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

class endpoint_core : public std::enable_shared_from_this<endpoint_core> {
public:
  endpoint_core(asio::any_io_executor ex, const metrics& m, metrics_endpoint_config c)
      : ex_(ex), metrics_(&m), completions_(ex), acceptor_(ex) {
    error_code ec;
    const auto address = asio::ip::make_address(c.address, ec);
    if (ec) throw boost::system::system_error(ec, "metrics endpoint: address \"" + c.address + "\"");
    const tcp::endpoint where(address, c.port);
    acceptor_.open(where.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(where, ec);
    if (ec) throw boost::system::system_error(ec, "metrics endpoint: cannot listen on " + c.address + ":" + std::to_string(c.port));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
  }

  unsigned short port() const { return port_; }
  void add_check(std::string name, readiness_check check) { checks_.emplace_back(std::move(name), std::move(check)); }

  void run(endpoint_done done) {
    if (running_) return completions_.complete(std::move(done), error_code(asio::error::already_started));
    running_ = true;
    asio::co_spawn(ex_, accept_loop(), [self = shared_from_this(), done = std::move(done)](std::exception_ptr, error_code ec) mutable {
      self->completions_.complete(std::move(done), ec == asio::error::operation_aborted ? error_code{} : ec);
    });
  }

  void stop() {
    error_code ignored;
    acceptor_.close(ignored);
    for (auto* s : connections_) s->socket().close(ignored);
  }

private:
  asio::awaitable<error_code> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return ec;
      asio::co_spawn(ex_, serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  asio::awaitable<void> serve(beast::tcp_stream stream) {
    auto self = shared_from_this();
    connections_.push_back(&stream);
    beast::flat_buffer buffer(8192);
    for (;;) {
      stream.expires_after(std::chrono::seconds(30));
      http::request_parser<http::empty_body> parser;
      parser.header_limit(8192);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      const auto& req = parser.get();
      http::response<http::string_body> res = co_await answer(req);
      res.version(req.version());
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !req.keep_alive()) break;
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    std::erase(connections_, &stream);
  }

  asio::awaitable<http::response<http::string_body>> answer(const http::request<http::empty_body>& req) {
    http::response<http::string_body> res;
    res.set(http::field::server, "txova-kafka");
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const auto text = [&](http::status s, std::string body, std::string_view type = "text/plain; charset=utf-8") {
      res.result(s);
      res.set(http::field::content_type, type);
      res.body() = std::move(body);
    };
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      text(http::status::method_not_allowed, "only GET\n");
      res.set(http::field::allow, "GET, HEAD");
    } else if (path == "/metrics") {
      text(http::status::ok, metrics_->render(), "text/plain; version=0.0.4; charset=utf-8");
    } else if (path == "/health/live") {
      text(http::status::ok, "live\n");
    } else if (path == "/health/ready") {
      std::string why;
      for (const auto& [name, check] : checks_) {
        std::string reason;
        try {
          reason = co_await check();
        } catch (const std::exception& x) {
          reason = std::string("the check threw: ") + x.what();
        }
        if (!reason.empty()) why += name + ": " + reason + "\n";
      }
      if (why.empty()) text(http::status::ok, "ready\n");
      else text(http::status::service_unavailable, std::move(why));
    } else {
      text(http::status::not_found, "no such path: " + std::string(path) + " (/metrics, /health/live, /health/ready)\n");
    }
    co_return res;
  }

  asio::any_io_executor ex_;
  const metrics* metrics_;
  completion_queue completions_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  bool running_ = false;
  std::vector<std::pair<std::string, readiness_check>> checks_;
  std::vector<beast::tcp_stream*> connections_;
};

std::shared_ptr<endpoint_core> make_endpoint_core(asio::any_io_executor ex, const metrics& m, metrics_endpoint_config c) {
  return std::make_shared<endpoint_core>(std::move(ex), m, std::move(c));
}
unsigned short port(const endpoint_core& c) { return c.port(); }
void add_readiness_check(endpoint_core& c, std::string name, readiness_check check) { c.add_check(std::move(name), std::move(check)); }
void start_run(const std::shared_ptr<endpoint_core>& c, endpoint_done done) { c->run(std::move(done)); }
void stop(endpoint_core& c) { c.stop(); }

}  // namespace txova::kafka::detail
