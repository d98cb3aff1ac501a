// backpressure: a large backlog on 24 partitions behind a slow handler. The resident size is
// sampled against the bound docs/consumer.md documents (benchmarks/memory_bound.hpp, the one
// txova-membound checks), then the handler speeds up and the lag must drain to 0 with every
// record handled once.
#include "chaos.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/envelope.hpp>

#include "memory_bound.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unordered_map>

namespace chaos {
namespace kafka = txova::kafka;

using txova::kafka::bench::heap_in_use_mb;
using txova::kafka::bench::rss_mb;

figures backpressure(const options& o, cluster& c) {
  figures f{.scenario = "backpressure"};
  const auto started = std::chrono::steady_clock::now();
  const std::string suffix = kafka::new_uuid().substr(0, 8);
  const std::string topic = "chaos.backpressure." + suffix;
  constexpr int partitions = 24;
  constexpr std::size_t pad = 700;
  create_topic(c.brokers(), topic, partitions, 1);
  const std::int64_t count = o.count(500000, 48000);
  progress("backpressure: writing a backlog of %lld records", static_cast<long long>(count));
  // Uncompressed: the bound counts a fetch as F bytes of records. A compressed batch is F bytes
  // on the wire and F times its compression ratio in memory (docs/consumer.md, Memory).
  const auto ids = publish_ticks(c.brokers(), topic, count, 240, pad, "none");
  f.published = f.acked = count;
  const std::size_t record_bytes = kafka::to_json(kafka::make_envelope(tick{ids::key_id("k0000"), 1, std::string(pad, 'p')},
                                                                       {.source = "txova-chaos"})).size();

  // Compact bookkeeping, allocated before the baseline, so that only the consumer grows.
  std::unordered_map<std::string, std::uint32_t> index;
  index.reserve(ids.size());
  for (std::uint32_t i = 0; i < ids.size(); ++i) index.emplace(ids[i], i);
  std::vector<std::uint8_t> hits(ids.size(), 0);
  std::map<std::pair<std::int32_t, std::string>, std::int64_t> last_seq;
  std::int64_t unexpected = 0;

  kafka::consumer_config cfg;
  cfg.brokers = c.brokers();
  cfg.group_id = "chaos-backpressure-" + suffix;
  cfg.topics = {topic};
  const auto slow_for = o.pick(30000ms, 8000ms);
  const auto slow_handler = 20ms;
  bool slow = true;
  double before = 0, peak = 0, peak_slow = 0, drain_seconds = 0;
  double heap_before = 0, heap_peak_slow = 0, heap_peak = 0;  // live heap, to tell it from allocator retention
  std::size_t in_flight_peak_slow = 0, in_flight_peak = 0;
  std::int64_t lag_at_speedup = 0;
  bool drained = false;
  sync([&]() -> asio::awaitable<void> {
    kafka::consumer consumer(co_await asio::this_coro::executor, cfg);
    consumer.routes().on<tick>([&](const tick& t, kafka::message_context& ctx) -> asio::awaitable<void> {
      if (slow) {
        asio::steady_timer timer(co_await asio::this_coro::executor, slow_handler);
        co_await timer.async_wait(asio::use_awaitable);
      }
      const auto it = index.find(ctx.event_id());
      if (it == index.end()) ++unexpected;
      else if (hits[it->second] < 255) ++hits[it->second];
      auto [at, fresh] = last_seq.try_emplace({ctx.partition(), t.key.str()}, t.seq);
      if (!fresh) {
        if (t.seq < at->second) ++f.reordered;
        at->second = std::max(at->second, t.seq);
      }
    });
    before = peak = rss_mb();
    heap_before = heap_peak = heap_in_use_mb();
    const auto sample = [&] {
      peak = std::max(peak, rss_mb());
      heap_peak = std::max(heap_peak, heap_in_use_mb());
      in_flight_peak = std::max(in_flight_peak, consumer.stats().in_flight);
    };
    consumer.async_run([](boost::system::error_code) {});
    const auto slow_until = std::chrono::steady_clock::now() + slow_for;
    while (std::chrono::steady_clock::now() < slow_until) {
      co_await sleep_for(100ms);
      sample();
    }
    peak_slow = peak;
    heap_peak_slow = heap_peak;
    in_flight_peak_slow = in_flight_peak;
    for (const auto& l : consumer.lag()) lag_at_speedup += std::max<std::int64_t>(l.lag, 0);
    progress("backpressure: speeding the handler up with %lld records behind", static_cast<long long>(lag_at_speedup));
    slow = false;
    const auto fast_from = std::chrono::steady_clock::now();
    const auto deadline = fast_from + 240s;
    while (std::chrono::steady_clock::now() < deadline) {
      co_await sleep_for(100ms);
      sample();
      const auto lag = consumer.lag();
      std::int64_t behind = 0;
      bool known = lag.size() == partitions;
      for (const auto& l : lag) {
        known = known && l.high_watermark >= 0;
        behind += l.lag < 0 ? 1 : l.lag;
      }
      if (known && behind == 0) {
        drained = true;
        break;
      }
    }
    drain_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - fast_from).count();
    consumer.stop();
    co_await sleep_for(1s);
  }());

  const double mib = 1024.0 * 1024.0;
  const double bound = txova::kafka::bench::consumer_memory_bound_mb(cfg, partitions, record_bytes);
  // The bound is what the consumer keeps behind a slow handler (every partition held); once the
  // handler is fast nothing is held and the drain's peak is reported beside it.
  const double growth = peak_slow - before;
  for (const auto h : hits) {
    f.lost += h == 0 ? 1 : 0;
    f.duplicates += h > 1 ? h - 1 : 0;
    f.handled += h;
  }
  char buf[64];
  const auto fmt = [&](double v) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return std::string(buf);
  };
  f.note("partitions", partitions);
  f.note("backlog_mb", fmt(static_cast<double>(count) * static_cast<double>(record_bytes) / mib));
  f.note("rss_before_mb", fmt(before));
  f.note("rss_peak_mb", fmt(peak_slow));
  f.note("growth_mb", fmt(growth));
  f.note("heap_growth_mb", fmt(heap_peak_slow - heap_before));
  f.note("in_flight_peak", in_flight_peak_slow);
  f.note("drain_growth_mb", fmt(peak - before));
  f.note("drain_heap_growth_mb", fmt(heap_peak - heap_before));
  f.note("drain_in_flight_peak", in_flight_peak);
  f.note("bound_mb", fmt(bound));
  f.note("lag_at_speedup", lag_at_speedup);
  f.note("drain_seconds", fmt(drain_seconds));
  f.expect(growth <= bound, "resident size grew " + fmt(growth) + " MiB behind the slow handler, over the bound of " +
                                fmt(bound) + " MiB");
  f.expect(drained, "lag did not drain to 0 within 240 s of the handler speeding up");
  f.expect(f.lost == 0, std::to_string(f.lost) + " records never handled");
  f.expect(unexpected == 0, std::to_string(unexpected) + " records handled that were never published");
  f.expect(f.reordered == 0, std::to_string(f.reordered) + " per-key sequences going backwards");
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return f;
}

}  // namespace chaos
