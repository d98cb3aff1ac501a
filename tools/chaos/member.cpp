// `txova-chaos member`: one consumer-group member in a process of its own, so the director can
// SIGKILL it. Each handled record is written to --out as "id key seq partition offset" with
// write(2) before the handler returns: whatever the group committed has a line.
//
//   txova-chaos member --brokers B --topic T --group G --out FILE [--handler-us N]
//                      [--session-ms N] [--commit-ms N]
// SIGTERM or SIGINT stop it gracefully (handlers finish, offsets committed, the group left).
#include "chaos.hpp"

#include <txova/kafka/consumer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace chaos {
namespace kafka = txova::kafka;

int member_main(int argc, char** argv) {
  std::string brokers, topic, group, out;
  long handler_us = 0, session_ms = 6000, commit_ms = 1000;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument("member: " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--brokers") brokers = v;
    else if (a == "--topic") topic = v;
    else if (a == "--group") group = v;
    else if (a == "--out") out = v;
    else if (a == "--handler-us") handler_us = std::stol(v);
    else if (a == "--session-ms") session_ms = std::stol(v);
    else if (a == "--commit-ms") commit_ms = std::stol(v);
    else throw std::invalid_argument("member: unknown option " + a);
  }
  if (brokers.empty() || topic.empty() || group.empty() || out.empty())
    throw std::invalid_argument("member: --brokers, --topic, --group and --out are required");
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) throw std::runtime_error("member: cannot open " + out);

  kafka::consumer_config cfg;
  cfg.brokers = brokers;
  cfg.group_id = group;
  cfg.topics = {topic};
  cfg.session_timeout = std::chrono::milliseconds(session_ms);
  cfg.heartbeat_interval = std::chrono::milliseconds(std::max(session_ms / 6, 100L));
  cfg.commit_interval = std::chrono::milliseconds(commit_ms);
  cfg.shutdown_timeout = 20s;
  asio::io_context ioc;
  kafka::consumer c(ioc.get_executor(), cfg);
  std::uint64_t lines = 0;
  c.routes().on<tick>([&](const tick& t, kafka::message_context& ctx) -> asio::awaitable<void> {
    if (handler_us > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::microseconds(handler_us));
      co_await timer.async_wait(asio::use_awaitable);
    }
    const std::string line = to_line({ctx.event_id(), t.key.str(), t.seq, ctx.partition(), ctx.offset()});
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      throw kafka::permanent_error("member: cannot write " + out);
    ++lines;
  });
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) c.stop();
  });
  int status = 1;
  c.async_run([&](boost::system::error_code ec) {
    signals.cancel();
    const auto s = c.stats();
    std::fprintf(stderr, "member %d: stopped (%s) handled=%llu commits=%llu rebalances=%llu failure=%s\n", ::getpid(),
                 ec ? ec.message().c_str() : "ok", static_cast<unsigned long long>(s.handled),
                 static_cast<unsigned long long>(s.commits), static_cast<unsigned long long>(s.rebalances),
                 c.failure() ? c.failure().message.c_str() : "none");
    status = ec ? 1 : 0;
  });
  ioc.run();
  ::close(fd);
  return status;
}

}  // namespace chaos
