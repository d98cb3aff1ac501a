// txova-bench: our producer side by side with raw librdkafka, same properties, same broker, same
// run, alternating. Embedded cluster by default, or --brokers HOST:PORT.
//
// Throughput: N publishes with a fixed number in flight (coroutines awaiting async_publish vs a
// raw produce/poll loop with the same window). Latency: paced rates, from the call to
// async_publish to the moment the awaiting coroutine resumes (raw: producev to the delivery
// callback), warm-up excluded. Memory: heap bytes per in-flight publish (mallinfo2).
// The last lines are for tools: publish_throughput ... and publish_latency ... (see README).
#include "consume_bench.hpp"

#include <txova/kafka/admin.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/testing/embedded_cluster.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace txova::kafka;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// A ride.completed as the ride service publishes it (481 bytes).
constexpr std::string_view sample =
    R"({"id":"14e76828-c2d0-49ef-a986-74cee7cd1b5a","type":"ride.completed","version":"1.0","source":"ride-service",)"
    R"("timestamp":"2024-01-15T11:01:31Z","correlation_id":"2beb81d0-4724-4b1b-a95d-cb2c997c267a",)"
    R"("causation_id":"53f886a9-3778-4a2c-afc6-95c3edefbec6","actor":{"id":"4b9e2465-23c0-48a5-b5e9-e7d1196ee3a4","type":"user"},)"
    R"("payload":{"ride_id":"ride-7f3a9c2e","end_time":"2024-01-15T11:01:30.123456789Z","distance_km":12,"duration_mins":23,)"
    R"("fare":{"amount":35000,"currency":"MZN"}}})";

struct options {
  std::string brokers;
  bool quick = false;
  std::size_t in_flight = 10000;
  std::size_t messages = 0;  // 0: by mode
  std::vector<int> rates{1000, 10000, 50000};
  std::chrono::milliseconds linger{5};
  bool compare_wakeups = true;
  bool publish = true;
  bool consume = true;
  int lag_rate = 10000;
};

struct workload {
  std::vector<envelope> envelopes;  // distinct ids and keys, cycled
  std::vector<std::string> texts;   // their JSON, for the raw side
  std::vector<std::string> keys;
};

workload make_workload(std::size_t n) {
  workload w;
  envelope base = parse_envelope(sample).value();
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

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// ---- ours --------------------------------------------------------------------------------------

producer_config our_config(const options& o, const std::string& brokers, const std::string& topic, wakeup_mode mode) {
  producer_config c;
  c.brokers = brokers;
  c.linger = o.linger;
  c.wakeup = mode;
  c.routes = topic_map().route("ride.completed", topic);
  return c;
}

double ours_throughput(const producer_config& cfg, const workload& w, std::size_t total, std::size_t window,
                       std::size_t& failures) {
  asio::io_context ioc;
  producer p(ioc.get_executor(), cfg);
  std::size_t next = 0;
  failures = 0;
  const auto t0 = clock_type::now();
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
  return static_cast<double>(total) / std::chrono::duration<double>(clock_type::now() - t0).count();
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

struct raw_client {
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* rkt = nullptr;
  std::size_t in_flight = 0;
  std::size_t failures = 0;
  std::vector<double>* samples = nullptr;
  clock_type::time_point measure_from{};
  std::vector<clock_type::time_point> sent_at;

  raw_client(const producer_config& cfg, const std::string& topic) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [k, v] : cfg.rdkafka_properties())
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
    rd_kafka_conf_set_dr_msg_cb(conf, &raw_client::on_delivery);
    rd_kafka_conf_set_opaque(conf, this);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) throw std::runtime_error(err);
    rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  }
  ~raw_client() {
    rd_kafka_flush(rk, 10000);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<raw_client*>(opaque);
    --self->in_flight;
    if (m->err) ++self->failures;
    else if (self->samples) {
      const auto& t0 = self->sent_at[reinterpret_cast<std::uintptr_t>(m->_private)];
      if (t0 >= self->measure_from) self->samples->push_back(ms_since(t0));
    }
  }

  // The same six headers our producer writes; rd_kafka_producev as most raw users call it.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif
  rd_kafka_resp_err_t send(const envelope& e, const std::string& key, const std::string& text, std::uintptr_t tag) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, "event-id", -1, e.id.data(), static_cast<ssize_t>(e.id.size()));
    rd_kafka_header_add(h, "event-type", -1, e.type.data(), static_cast<ssize_t>(e.type.size()));
    rd_kafka_header_add(h, "correlation-id", -1, e.correlation_id.data(), static_cast<ssize_t>(e.correlation_id.size()));
    rd_kafka_header_add(h, "schema-version", -1, e.version.data(), static_cast<ssize_t>(e.version.size()));
    rd_kafka_header_add(h, "source", -1, e.source.data(), static_cast<ssize_t>(e.source.size()));
    rd_kafka_header_add(h, "timestamp", -1, "2024-01-15T11:01:31Z", -1);
    const auto err = rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(key.data(), key.size()),
                                       RD_KAFKA_V_VALUE(const_cast<char*>(text.data()), text.size()),
                                       RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_HEADERS(h),
                                       RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(tag)), RD_KAFKA_V_END);
    if (err) rd_kafka_headers_destroy(h);
    else ++in_flight;
    return err;
  }
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
};

double raw_throughput(const producer_config& cfg, const std::string& topic, const workload& w, std::size_t total,
                      std::size_t window, std::size_t& failures) {
  raw_client c(cfg, topic);
  std::size_t i = 0;
  const auto t0 = clock_type::now();
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
  return static_cast<double>(total) / std::chrono::duration<double>(clock_type::now() - t0).count();
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

void usage() {
  std::puts(
      "usage: txova-bench [--brokers HOST:PORT] [--quick] [--in-flight N] [--messages N] [--rates R1,R2,...]\n"
      "                   [--linger-ms N] [--no-wakeup-comparison] [--lag-rate N]\n"
      "                   [--publish-only | --consume-only]\n"
      "Without --brokers (or KAFKA_BROKERS) it runs on the embedded cluster (librdkafka's mock).");
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (const char* b = std::getenv("KAFKA_BROKERS")) o.brokers = b;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "txova-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--brokers") o.brokers = value();
    else if (a == "--quick") o.quick = true;
    else if (a == "--in-flight") o.in_flight = std::stoul(value());
    else if (a == "--messages") o.messages = std::stoul(value());
    else if (a == "--linger-ms") o.linger = std::chrono::milliseconds(std::stol(value()));
    else if (a == "--no-wakeup-comparison") o.compare_wakeups = false;
    else if (a == "--publish-only") o.consume = false;
    else if (a == "--consume-only") o.publish = false;
    else if (a == "--lag-rate") o.lag_rate = std::stoi(value());
    else if (a == "--rates") {
      o.rates.clear();
      std::string list = value();
      for (std::size_t pos = 0; pos < list.size();) {
        const auto comma = list.find(',', pos);
        o.rates.push_back(std::stoi(list.substr(pos, comma - pos)));
        pos = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "txova-bench: unknown option %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);

  std::optional<testing::embedded_cluster> cluster;
  std::string brokers = o.brokers;
  if (brokers.empty()) {
    cluster.emplace(1);
    brokers = cluster->bootstrap_servers();
  }
  const auto create_topic = [&](const std::string& name, int partitions) {
    if (cluster) {
      if (auto ec = cluster->create_topic(name, partitions)) {
        std::fprintf(stderr, "txova-bench: cannot create %s on the embedded cluster: %s\n", name.c_str(), ec.message().c_str());
        return false;
      }
      return true;
    }
    asio::io_context ioc;
    admin a(ioc.get_executor(), admin_config{.brokers = brokers});
    std::vector<topic_spec> specs{topic_spec{name, partitions, 1, std::chrono::hours(1), {}}};
    auto fut = a.async_create_topics(std::move(specs), asio::use_future);
    ioc.run();
    auto out = fut.get();
    if (out.empty() || out[0].ec) {
      std::fprintf(stderr, "txova-bench: cannot create %s on %s: %s\n", name.c_str(), brokers.c_str(),
                   out.empty() ? "no result" : out[0].message.c_str());
      return false;
    }
    return true;
  };
  int consume_status = 0;
  if (o.consume) {
    std::printf("txova-bench: consumer section, %s\n",
                cluster ? "embedded cluster (librdkafka mock)" : ("brokers " + brokers).c_str());
    consume_status = run_consumer_section(consume_options{brokers, o.quick, sample, o.lag_rate, create_topic});
  }
  if (!o.publish) return consume_status;
  const std::string topic = "txova.bench." + new_uuid().substr(0, 8);
  if (!create_topic(topic, 3)) return 1;
  const std::size_t total = o.messages ? o.messages : (o.quick ? 100000 : 500000);
  const auto run = o.quick ? 2000ms : 6000ms;
  const auto warmup = o.quick ? 500ms : 1000ms;
  const int rounds = o.quick ? 1 : 2;
  const workload w = make_workload(1024);

  std::printf("txova-bench: %s, topic %s (3 partitions), envelope %zu bytes, linger %lld ms, acks=all, idempotent\n",
              cluster ? "embedded cluster (librdkafka mock)" : ("brokers " + brokers).c_str(), topic.c_str(),
              w.texts[0].size(), static_cast<long long>(o.linger.count()));

  const producer_config fd_cfg = our_config(o, brokers, topic, wakeup_mode::fd);
  const producer_config cb_cfg = our_config(o, brokers, topic, wakeup_mode::callback);

  // Throughput, alternating; best round of each.
  double ours_fd = 0, ours_cb = 0, raw = 0;
  std::size_t failures = 0, f = 0;
  for (int r = 0; r < rounds; ++r) {
    ours_fd = std::max(ours_fd, ours_throughput(fd_cfg, w, total, o.in_flight, f));
    failures += f;
    raw = std::max(raw, raw_throughput(fd_cfg, topic, w, total, o.in_flight, f));
    failures += f;
    if (o.compare_wakeups) {
      ours_cb = std::max(ours_cb, ours_throughput(cb_cfg, w, total, o.in_flight, f));
      failures += f;
    }
  }
  std::printf("\nthroughput, %zu messages, %zu in flight (best of %d)\n", total, o.in_flight, rounds);
  std::printf("  %-22s %12.0f msg/s\n", "ours (fd wakeup)", ours_fd);
  if (o.compare_wakeups) std::printf("  %-22s %12.0f msg/s\n", "ours (callback wakeup)", ours_cb);
  std::printf("  %-22s %12.0f msg/s\n", "raw librdkafka", raw);

  // Latency at paced rates, alternating.
  struct row {
    int rate;
    latency_stats ours, ours_cb, raw;
  };
  std::vector<row> rows;
  for (int rate : o.rates) {
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
  for (const auto& r : rows) {
    auto line = [&](const char* who, const latency_stats& s) {
      std::printf("  %-8d %-22s %8.3f %8.3f %8.3f %8.3f %8.3f %9zu\n", r.rate, who, s.p50, s.p90, s.p99, s.p999, s.max, s.samples);
    };
    line("ours (fd wakeup)", r.ours);
    if (o.compare_wakeups) line("ours (callback wakeup)", r.ours_cb);
    line("raw librdkafka", r.raw);
  }

  const auto [mem_ours, mem_raw] = memory_per_in_flight(fd_cfg, topic, w, 10000);
  std::printf("\nheap per in-flight publish (10000 in flight): ours %.0f bytes, raw librdkafka %.0f bytes\n", mem_ours, mem_raw);
  if (failures) std::printf("\nWARNING: %zu publishes failed during the run\n", failures);

  std::printf("\n");
  if (o.compare_wakeups)
    std::printf("wakeup_comparison fd_msgs=%.0f callback_msgs=%.0f fd_p99_ms=%.3f callback_p99_ms=%.3f\n", ours_fd, ours_cb,
                rows.empty() ? 0.0 : rows.back().ours.p99, rows.empty() ? 0.0 : rows.back().ours_cb.p99);
  std::printf("publish_memory ours_bytes=%.0f raw_bytes=%.0f\n", mem_ours, mem_raw);
  std::printf("publish_throughput ours=%.0f raw=%.0f ratio=%.3f\n", ours_fd, raw, raw > 0 ? ours_fd / raw : 0.0);
  for (const auto& r : rows)
    std::printf("publish_latency rate=%d ours_p50_ms=%.3f ours_p99_ms=%.3f raw_p50_ms=%.3f raw_p99_ms=%.3f p99_ratio=%.3f\n",
                r.rate, r.ours.p50, r.ours.p99, r.raw.p50, r.raw.p99, r.raw.p99 > 0 ? r.ours.p99 / r.raw.p99 : 0.0);
  return failures || consume_status ? 1 : 0;
}
