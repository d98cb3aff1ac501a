#pragma once
// Publishes chaos ticks with our producer at a bounded rate and window, keeping a ledger of
// every publish and its outcome. Publishes are started in order from one loop (callback tokens),
// so per-key sequence numbers are handed to the producer in sequence order.
#include "chaos.hpp"

#include <txova/kafka/envelope.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>
#include <string>
#include <vector>

namespace chaos {

struct ledger {
  std::vector<std::string> ids;       ///< every event published, in publish order
  std::vector<std::string> acked_ids; ///< those the broker acknowledged
  std::int64_t acked_count = 0, failed_count = 0, completed = 0;
  std::map<std::string, std::int64_t> errors;  ///< failure messages (first 80 characters), counted
  std::string first_error;
  std::int64_t in_flight() const { return static_cast<std::int64_t>(ids.size()) - completed; }
};

struct publish_plan {
  std::int64_t count = 0;
  int keys = 100;
  std::int64_t window = 2000;  ///< publishes in flight at most
  double rate = 0;             ///< per second; 0: as fast as the window allows
  std::size_t pad_bytes = 0;
};

/// Publishes `plan.count` ticks to `topic`, then waits until every one has completed or
/// `drain_limit` passed (l.in_flight() says how many had not: a hang). `l` must outlive `p`.
inline asio::awaitable<void> publish_all(txova::kafka::producer& p, std::string topic, publish_plan plan, ledger& l,
                                         std::chrono::milliseconds drain_limit = 600s) {
  namespace kafka = txova::kafka;
  const kafka::event_context ctx{.source = "txova-chaos"};
  std::vector<std::int64_t> seq(static_cast<std::size_t>(plan.keys), 0);
  const std::string pad(plan.pad_bytes, 'p');
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < plan.count; ++i) {
    while (l.in_flight() >= plan.window) co_await sleep_for(1ms);
    if (plan.rate > 0) {
      const auto due = start + std::chrono::microseconds(static_cast<std::int64_t>(1e6 * static_cast<double>(i) / plan.rate));
      if (due > std::chrono::steady_clock::now() + 2ms) co_await sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(due - std::chrono::steady_clock::now()));
    }
    const auto k = static_cast<std::size_t>(i % plan.keys);
    char key[16];
    std::snprintf(key, sizeof key, "k%04zu", k);
    kafka::envelope e = kafka::make_envelope(tick{ids::key_id(key), ++seq[k], pad}, ctx);
    l.ids.push_back(e.id);
    p.async_publish(e, kafka::publish_options{.topic = topic, .key = std::string_view(key)},
                    [&l, id = e.id](boost::system::error_code ec, kafka::delivery d) {
                      ++l.completed;
                      if (!ec) {
                        ++l.acked_count;
                        l.acked_ids.push_back(id);
                        return;
                      }
                      ++l.failed_count;
                      const std::string what = d.error_message.empty() ? ec.message() : d.error_message;
                      if (l.first_error.empty()) l.first_error = what;
                      ++l.errors[what.substr(0, 80)];
                    });
  }
  const auto drain_deadline = std::chrono::steady_clock::now() + drain_limit;
  while (l.in_flight() > 0 && std::chrono::steady_clock::now() < drain_deadline) co_await sleep_for(5ms);
}

/// "n×message; ..." for the detail line.
inline std::string error_summary(const ledger& l) {
  std::string out;
  for (const auto& [what, n] : l.errors) {
    std::string w = what;
    for (char& c : w)
      if (c == ' ') c = '_';
    if (!out.empty()) out += ';';
    out += std::to_string(n);
    out += 'x';
    out += w;
  }
  return out.empty() ? "none" : out;
}

}  // namespace chaos
