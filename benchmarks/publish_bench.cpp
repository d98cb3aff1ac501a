// The producer section of txova-bench: our producer side by side with raw librdkafka, same
// properties, same broker, same run, alternating.
//
// Throughput: N publishes with a fixed number in flight (coroutines awaiting async_publish vs a
// raw produce/poll loop with the same window), with the process CPU per publish (getrusage).
// Latency: paced rates, from the call to async_publish to the moment the awaiting coroutine
// resumes (raw: producev to the delivery callback), warm-up excluded. Memory: heap bytes per
// in-flight publish (mallinfo2).
#include "publish_bench.hpp"

#include "bench_common.hpp"
#include "raw_producer.hpp"

#include <txova/kafka/envelope.hpp>
#include <txova/kafka/producer.hpp>
#ifdef TXOVA_BENCH_METRICS
#include <txova/kafka/metrics.hpp>

#include "bench_tracer.hpp"
#endif

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <librdkafka/rdkafka.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace txova::kafka::bench;
using namespace std::chrono_literals;

namespace {

struct workload {
  std::vector<envelope> envelopes;  // distinct ids and keys, cycled
  std::vector<std::string> texts;   // their JSON, for the raw side
  std::vector<std::string> keys;
};

workload make_workload(std::size_t n) {
  workload w;
  envelope base = parse_envelope(sample_envelope).value();
  for (std::size_t i = 0; i < n; ++i) {
    envelope e = base;
    e.id = new_uuid();
    const std::string ride = "ride-" + std::to_string(100000 + i);
    e.payload.replace(e.payload.find("ride-7f3a9c2e"), 13, ride);
    w.keys.push_back(ride);
    w.texts.push_back(to_json(e));
    w.envelopes.push_back(std::move(e));
  }
  return w;
}

struct latency_stats {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  std::size_t samples = 0;
};

latency_stats summarize(std::vector<double> ms) {
  latency_stats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
  s.p50 = at(0.50);
  s.p90 = at(0.90);
  s.p99 = at(0.99);
  s.p999 = at(0.999);
  s.max = ms.back();
  s.samples = ms.size();
  return s;
}

// A throughput run's figure: publishes per second and process CPU per publish, or why not.
measurement finished(std::size_t total, std::size_t failures, clock_type::time_point t0, double cpu0, double thread_cpu0) {
  const double cpu = process_cpu_us() - cpu0;
  const double caller = thread_cpu_us() - thread_cpu0;
  if (failures == total) return measurement::failed("all " + std::to_string(total) + " publishes failed");
  const double seconds = seconds_between(t0, clock_type::now());
  const auto n = static_cast<double>(total);
  return {n / seconds, cpu / n, {}, caller / n};
}

// ---- ours --------------------------------------------------------------------------------------

producer_config our_config(const publish_bench_options& o, const std::string& brokers, const std::string& topic, wakeup_mode mode) {
  producer_config c;
  c.brokers = brokers;
  c.linger = o.linger;
  c.wakeup = mode;
  c.routes = topic_map().route("ride.completed", topic);
  return c;
}

measurement ours_throughput(const producer_config& cfg, const workload& w, std::size_t total, std::size_t window,
                            std::size_t& failures, const std::vector<std::shared_ptr<publish_observer>>* observers = nullptr) {
  asio::io_context ioc;
  producer p(ioc.get_executor(), cfg);
  if (observers)
    for (const auto& o : *observers) p.use(o);
  std::size_t next = 0;
  failures = 0;
  const auto t0 = clock_type::now();
  const double cpu0 = process_cpu_us(), thread_cpu0 = thread_cpu_us();
  for (std::size_t k = 0; k < std::min(window, total); ++k) {
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
      while (next < total) {
        const envelope& e = w.envelopes[next++ % w.envelopes.size()];
        auto [ec, d] = co_await p.async_publish(e, asio::as_tuple(asio::use_awaitable));
        failures += ec.failed();
      }
    }, asio::detached);
  }
  ioc.run();
  return finished(total, failures, t0, cpu0, thread_cpu0);
}

std::vector<double> ours_latency(const producer_config& cfg, const workload& w, int rate, std::chrono::milliseconds run,
                                 std::chrono::milliseconds warmup, std::size_t& failures) {
  asio::io_context ioc;
  producer p(ioc.get_executor(), cfg);
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(rate) * (run.count() / 1000 + 1));
  failures = 0;
  // One message first so the connection and producer id are there before the clock starts.
  (void)p.async_publish(w.envelopes[0], asio::use_future);
  ioc.run();
  ioc.restart();
  const auto start = clock_type::now();
  const auto measure_from = start + warmup;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer tick(ioc);
    std::size_t sent = 0;
    for (;;) {
      const auto now = clock_type::now();
      if (now - start >= run) break;
      const auto due = static_cast<std::size_t>(std::chrono::duration<double>(now - start).count() * rate);
      for (; sent < due; ++sent) {
        asio::co_spawn(ioc, [&, i = sent]() -> asio::awaitable<void> {
          const auto t0 = clock_type::now();
          auto [ec, d] = co_await p.async_publish(w.envelopes[i % w.envelopes.size()], asio::as_tuple(asio::use_awaitable));
          if (ec) ++failures;
          else if (t0 >= measure_from) samples.push_back(ms_since(t0));
        }, asio::detached);
      }
      tick.expires_after(std::chrono::microseconds(500));
      co_await tick.async_wait(asio::use_awaitable);
    }
  }, asio::detached);
  ioc.run();
  return samples;
}

// ---- raw librdkafka ------------------------------------------------------------------------------

measurement raw_throughput(const producer_config& cfg, const std::string& topic, const workload& w, std::size_t total,
                           std::size_t window, std::size_t& failures) {
  raw_client c(cfg, topic);
  std::size_t i = 0;
  const auto t0 = clock_type::now();
  const double cpu0 = process_cpu_us(), thread_cpu0 = thread_cpu_us();
  while (i < total) {
    if (c.in_flight < window) {
      const std::size_t k = i % w.envelopes.size();
      if (c.send(w.envelopes[k], w.keys[k], w.texts[k], 0) == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(c.rk, 1);
      else ++i;
    } else {
      rd_kafka_poll(c.rk, 100);
    }
  }
  while (c.in_flight > 0) rd_kafka_poll(c.rk, 100);
  failures = c.failures;
  return finished(total, failures, t0, cpu0, thread_cpu0);
}

std::vector<double> raw_latency(const producer_config& cfg, const std::string& topic, const workload& w, int rate,
                                std::chrono::milliseconds run, std::chrono::milliseconds warmup, std::size_t& failures) {
  raw_client c(cfg, topic);
  std::vector<double> samples;
  const std::size_t expected = static_cast<std::size_t>(rate) * (run.count() / 1000 + 1) + 16;
  samples.reserve(expected);
  c.sent_at.resize(expected + 1);
  c.send(w.envelopes[0], w.keys[0], w.texts[0], expected);  // connection and producer id first
  while (c.in_flight > 0) rd_kafka_poll(c.rk, 10);
  c.samples = &samples;
  const auto start = clock_type::now();
  c.measure_from = start + warmup;
  std::size_t sent = 0;
  for (;;) {
    const auto now = clock_type::now();
    if (now - start >= run) break;
    const auto due = std::min(expected - 1, static_cast<std::size_t>(std::chrono::duration<double>(now - start).count() * rate));
    for (; sent < due; ++sent) {
      const std::size_t k = sent % w.envelopes.size();
      c.sent_at[sent] = clock_type::now();
      c.send(w.envelopes[k], w.keys[k], w.texts[k], sent);
    }
    rd_kafka_poll(c.rk, 0);
    // Sleep until the next tick, but wake for delivery reports (poll blocks on the queue).
    rd_kafka_poll(c.rk, 1);
  }
  while (c.in_flight > 0) rd_kafka_poll(c.rk, 10);
  failures = c.failures;
  return samples;
}

// ---- memory per in-flight publish ----------------------------------------------------------------

std::size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

std::pair<double, double> memory_per_in_flight(const producer_config& cfg, const std::string& topic, const workload& w,
                                               std::size_t n) {
  double ours = 0, raw = 0;
  {
    asio::io_context ioc;
    producer p(ioc.get_executor(), cfg);
    (void)p.async_publish(w.envelopes[0], asio::use_future);
    ioc.run();
    ioc.restart();
    const std::size_t before = heap_in_use();
    for (std::size_t i = 0; i < n; ++i)
      p.async_publish(w.envelopes[i % w.envelopes.size()], [](boost::system::error_code, delivery) {});
    ours = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
    ioc.run();  // delivery reports, then everything is freed
  }
  {
    raw_client c(cfg, topic);
    c.send(w.envelopes[0], w.keys[0], w.texts[0], 0);
    while (c.in_flight > 0) rd_kafka_poll(c.rk, 10);
    const std::size_t before = heap_in_use();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = i % w.envelopes.size();
      c.send(w.envelopes[k], w.keys[k], w.texts[k], 0);
    }
    raw = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
    while (c.in_flight > 0) rd_kafka_poll(c.rk, 10);
  }
  return {ours, raw};
}

}  // namespace

measurement our_publish_rate(const std::string& brokers, const std::string& topic, std::size_t n, std::size_t in_flight) {
  publish_bench_options o;
  const workload w = make_workload(1024);
  std::size_t failures = 0;
  return ours_throughput(our_config(o, brokers, topic, wakeup_mode::fd), w, n, in_flight, failures);
}

int run_publish_section(const publish_bench_options& o) {
  const std::string topic = "txova.bench." + new_uuid().substr(0, 8);
  if (!o.create_topic(topic, 3)) return 1;
  const std::size_t total = o.messages ? o.messages : (o.quick ? 100000 : 500000);
  const auto run = o.quick ? 2000ms : 6000ms;
  const auto warmup = o.quick ? 500ms : 1000ms;
  const int rounds = o.quick ? 1 : 2;
  const workload w = make_workload(1024);

  progress("[publish] %s, topic %s (3 partitions), envelope %zu bytes, linger %lld ms, acks=all, idempotent",
           o.embedded ? "embedded cluster (librdkafka mock)" : ("brokers " + o.brokers).c_str(), topic.c_str(),
           w.texts[0].size(), static_cast<long long>(o.linger.count()));

  const producer_config fd_cfg = our_config(o, o.brokers, topic, wakeup_mode::fd);
  const producer_config cb_cfg = our_config(o, o.brokers, topic, wakeup_mode::callback);

  // Throughput, alternating; best round of each.
  measurement ours_fd, ours_cb, raw;
  std::size_t failures = 0, f = 0;
  for (int r = 0; r < rounds; ++r) {
    progress("[publish] throughput round %d of %d: %zu publishes, %zu in flight", r + 1, rounds, total, o.in_flight);
    ours_fd = best(ours_fd, ours_throughput(fd_cfg, w, total, o.in_flight, f));
    failures += f;
    raw = best(raw, raw_throughput(fd_cfg, topic, w, total, o.in_flight, f));
    failures += f;
    if (o.compare_wakeups) {
      ours_cb = best(ours_cb, ours_throughput(cb_cfg, w, total, o.in_flight, f));
      failures += f;
    }
  }
#ifdef TXOVA_BENCH_METRICS
  // The cost of the metrics and tracing middleware: the same run with and without them, alternating.
  measurement plain, instrumented;
  {
    txova::kafka::metrics m;
    std::vector<std::shared_ptr<publish_observer>> observers;
    if (bench::observer_wanted("metrics")) observers.push_back(m.producer_middleware());
    if (bench::observer_wanted("tracing")) observers.push_back(producer_tracing(std::make_shared<bench::discarding_tracer>()));
    if (bench::observer_wanted("header")) observers.push_back(std::make_shared<bench::header_only_observer>());
    for (int r = 0; r < rounds; ++r) {
      progress("[publish] middleware cost round %d of %d: without, then with the metrics and tracing middleware", r + 1, rounds);
      plain = best(plain, ours_throughput(fd_cfg, w, total, o.in_flight, f));
      failures += f;
      instrumented = best(instrumented, ours_throughput(fd_cfg, w, total, o.in_flight, f, &observers));
      failures += f;
    }
  }
#endif
  // The limit with librdkafka's own batch size (batch.size 1 000 000 instead of our 16 KiB
  // default): how far the same broker goes when batches are not capped, raw and ours alike.
  producer_config big_cfg = fd_cfg;
  big_cfg.batch_bytes = 1000000;
  progress("[publish] throughput with librdkafka's default batch size (1 MB): raw, then ours");
  const measurement raw_big = raw_throughput(big_cfg, topic, w, total, o.in_flight, f);
  failures += f;
  const measurement ours_big = ours_throughput(big_cfg, w, total, o.in_flight, f);
  failures += f;
  std::printf("\nthroughput, %zu messages, %zu in flight (best of %d), process CPU per publish\n", total, o.in_flight, rounds);
  auto throughput_line = [](const char* who, const measurement& m) {
    if (m.ok())
      std::printf("  %-22s %12.0f msg/s %8.2f us CPU (%.2f on the calling thread)\n", who, m.per_second, m.cpu_us_per_message,
                  m.caller_cpu_us_per_message);
    else std::printf("  %-22s %s\n", who, rate_text(m).c_str());
  };
  throughput_line("ours (fd wakeup)", ours_fd);
  if (o.compare_wakeups) throughput_line("ours (callback wakeup)", ours_cb);
  throughput_line("raw librdkafka", raw);
  throughput_line("raw, 1 MB batches", raw_big);
  throughput_line("ours, 1 MB batches", ours_big);
  if (o.embedded)
    std::printf("  (CPU includes the embedded cluster's broker threads, which run in this process)\n");

  // Latency at paced rates, alternating.
  struct row {
    int rate;
    latency_stats ours, ours_cb, raw;
  };
  std::vector<row> rows;
  for (int rate : o.rates) {
    progress("[publish] latency at %d msg/s, %d round(s) of %lld ms per client", rate, rounds,
             static_cast<long long>(run.count()));
    std::vector<double> a, b, c;
    for (int r = 0; r < rounds; ++r) {
      auto x = ours_latency(fd_cfg, w, rate, run, warmup, f);
      failures += f;
      a.insert(a.end(), x.begin(), x.end());
      auto y = raw_latency(fd_cfg, topic, w, rate, run, warmup, f);
      failures += f;
      c.insert(c.end(), y.begin(), y.end());
      if (o.compare_wakeups) {
        auto z = ours_latency(cb_cfg, w, rate, run, warmup, f);
        failures += f;
        b.insert(b.end(), z.begin(), z.end());
      }
    }
    rows.push_back({rate, summarize(a), summarize(b), summarize(c)});
  }
  std::printf("\nlatency (ms) from publish to acknowledgment, %lld ms per run, %lld ms warm-up excluded\n",
              static_cast<long long>(run.count()), static_cast<long long>(warmup.count()));
  std::printf("  %-8s %-22s %8s %8s %8s %8s %8s %9s\n", "rate", "client", "p50", "p90", "p99", "p99.9", "max", "samples");
  bool all_sampled = true;
  for (const auto& r : rows) {
    auto line = [&](const char* who, const latency_stats& s) {
      if (s.samples == 0) {
        all_sampled = false;
        std::printf("  %-8d %-22s not measured (no publish was acknowledged after the warm-up)\n", r.rate, who);
        return;
      }
      std::printf("  %-8d %-22s %8.3f %8.3f %8.3f %8.3f %8.3f %9zu\n", r.rate, who, s.p50, s.p90, s.p99, s.p999, s.max, s.samples);
    };
    line("ours (fd wakeup)", r.ours);
    if (o.compare_wakeups) line("ours (callback wakeup)", r.ours_cb);
    line("raw librdkafka", r.raw);
  }

  progress("[publish] heap per in-flight publish, 10000 enqueued");
  const auto [mem_ours, mem_raw] = memory_per_in_flight(fd_cfg, topic, w, 10000);
  std::printf("\nheap per in-flight publish (10000 in flight): ours %.0f bytes, raw librdkafka %.0f bytes\n", mem_ours, mem_raw);
  if (failures) std::printf("\nWARNING: %zu publishes failed during the run\n", failures);

  std::printf("\n");
  const bool throughput_ok = ours_fd.ok() && raw.ok() && (!o.compare_wakeups || ours_cb.ok());
  if (o.compare_wakeups && throughput_ok && !rows.empty() && rows.back().ours.samples && rows.back().ours_cb.samples)
    std::printf("wakeup_comparison fd_msgs=%.0f callback_msgs=%.0f fd_p99_ms=%.3f callback_p99_ms=%.3f\n", ours_fd.per_second,
                ours_cb.per_second, rows.back().ours.p99, rows.back().ours_cb.p99);
  std::printf("publish_memory ours_bytes=%.0f raw_bytes=%.0f\n", mem_ours, mem_raw);
  if (throughput_ok) {
    std::printf("publish_throughput ours=%.0f raw=%.0f ratio=%.3f\n", ours_fd.per_second, raw.per_second,
                ours_fd.per_second / raw.per_second);
    std::printf("publish_cpu ours_us=%.2f raw_us=%.2f ratio=%.3f ours_caller_us=%.2f raw_caller_us=%.2f\n",
                ours_fd.cpu_us_per_message, raw.cpu_us_per_message,
                raw.cpu_us_per_message > 0 ? ours_fd.cpu_us_per_message / raw.cpu_us_per_message : 0.0,
                ours_fd.caller_cpu_us_per_message, raw.caller_cpu_us_per_message);
  } else {
    std::printf("publish_throughput not measured: ours %s, raw %s\n", rate_text(ours_fd).c_str(), rate_text(raw).c_str());
  }
#ifdef TXOVA_BENCH_METRICS
  if (plain.ok() && instrumented.ok())
    std::printf("middleware_cost operation=publish observers=%s off_msgs=%.0f on_msgs=%.0f ratio=%.3f off_cpu_us=%.2f on_cpu_us=%.2f "
                "cpu_ratio=%.3f off_caller_us=%.2f on_caller_us=%.2f\n",
                bench::observers_text(), plain.per_second, instrumented.per_second, instrumented.per_second / plain.per_second,
                plain.cpu_us_per_message, instrumented.cpu_us_per_message,
                instrumented.cpu_us_per_message / plain.cpu_us_per_message, plain.caller_cpu_us_per_message,
                instrumented.caller_cpu_us_per_message);
#endif
  if (raw_big.ok() && ours_big.ok())
    std::printf("publish_limit batch_bytes=1000000 raw=%.0f ours=%.0f ratio=%.3f\n", raw_big.per_second, ours_big.per_second,
                ours_big.per_second / raw_big.per_second);
  else
    std::printf("publish_limit not measured: raw %s, ours %s\n", rate_text(raw_big).c_str(), rate_text(ours_big).c_str());
  for (const auto& r : rows)
    if (r.ours.samples && r.raw.samples)
      std::printf("publish_latency rate=%d ours_p50_ms=%.3f ours_p99_ms=%.3f raw_p50_ms=%.3f raw_p99_ms=%.3f p99_ratio=%.3f\n",
                  r.rate, r.ours.p50, r.ours.p99, r.raw.p50, r.raw.p99, r.ours.p99 / r.raw.p99);
  std::fflush(stdout);
  return failures || !throughput_ok || !all_sampled ? 1 : 0;
}
