// txova-bench's request-reply section: a requester and a responder (a consumer group) on one
// io_context; requests sent at a fixed rate, each timed from async_request to its reply.
#include "request_reply_bench.hpp"

#include "bench_common.hpp"

#include <txova/kafka/request_reply.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace txova::kafka::bench;
using boost::system::error_code;

int run_request_reply_section(const request_reply_options& o) {
  const std::string suffix = new_uuid().substr(0, 8);
  const std::string requests = "bench-rr-requests-" + suffix, replies = "bench-rr-replies-" + suffix;
  if (!o.create_topic(requests, 3) || !o.create_topic(replies, 1)) {
    std::printf("request_reply not measured (the topics could not be created)\n");
    return 1;
  }
  asio::io_context ioc(1);
  producer_config pc;
  pc.brokers = o.brokers;
  pc.linger = std::chrono::milliseconds(1);
  producer out(ioc.get_executor(), pc);
  consumer_config sc;
  sc.brokers = o.brokers;
  sc.group_id = requests + "-responder";
  sc.topics = {requests};
  sc.commit_interval = std::chrono::milliseconds(200);
  sc.properties["fetch.wait.max.ms"] = "5";
  consumer server(ioc.get_executor(), sc);
  respond(server.routes(), "bench.quote_requested", out, [](const envelope& req, message_context&) -> asio::awaitable<envelope> {
    co_return make_envelope("bench.quote_provided", "1.0", req.payload, event_context{.source = "bench"});
  });
  consumer_config base;
  base.brokers = o.brokers;
  consumer reply_reader(ioc.get_executor(), reply_consumer_config(base, replies, 0));
  requester req(ioc.get_executor(), out, reply_reader,
                requester_config{.reply_topic = replies, .reply_partition = 0, .request_topic = requests});
  server.async_run(asio::detached);
  reply_reader.async_run(asio::detached);

  const int seconds = o.quick ? 3 : 10;
  const int total = o.rate * seconds;
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(total));
  int errors = 0, done = 0;
  bool ready = false;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    // Until a round trip works: the responder has joined its group and the reply reader reads.
    for (int i = 0; i < 60 && !ready; ++i) {
      const envelope probe = make_envelope("bench.quote_requested", "1.0", "{}", event_context{.source = "bench"});
      auto [ec, reply] = co_await req.async_request(probe, std::chrono::seconds(1), asio::as_tuple(asio::use_awaitable));
      ready = !ec;
    }
    if (!ready) co_return;
    progress("[request_reply] %d requests at %d/s", total, o.rate);
    asio::steady_timer pace(co_await asio::this_coro::executor);
    const auto start = clock_type::now();
    for (int i = 0; i < total; ++i) {
      pace.expires_at(start + std::chrono::microseconds(static_cast<long long>(i) * 1000000 / o.rate));
      co_await pace.async_wait(asio::use_awaitable);
      const auto sent = clock_type::now();
      req.async_request(make_envelope("bench.quote_requested", "1.0", "{\"n\":" + std::to_string(i) + "}",
                                      event_context{.source = "bench"}),
                        std::chrono::seconds(10), [&, sent](error_code ec, envelope) {
                          ++done;
                          if (ec) ++errors;
                          else latencies.push_back(ms_since(sent));
                        });
    }
  }, asio::detached);
  const auto deadline = clock_type::now() + std::chrono::seconds(seconds + 90);
  while ((!ready || done < total) && clock_type::now() < deadline) {
    ioc.run_for(std::chrono::milliseconds(100));
    if (!ready && req.stats().timed_out >= 60) break;
  }
  server.stop();
  reply_reader.stop();
  ioc.run_for(std::chrono::seconds(5));
  if (!ready || latencies.empty()) {
    std::printf("request_reply not measured (%s)\n", ready ? "no request was answered" : "no round trip within 60 probes");
    return 1;
  }
  std::sort(latencies.begin(), latencies.end());
  const auto at = [&](double q) { return latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(q * latencies.size()))]; };
  std::printf("request_reply rate=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f answered=%zu errors=%d\n", o.rate, at(0.50), at(0.99),
              latencies.back(), latencies.size(), errors);
  return errors ? 1 : 0;
}
