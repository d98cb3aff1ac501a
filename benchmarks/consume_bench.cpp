// The consumer section of txova-bench (see txova_bench.cpp for the method of the producer part).
//
// consume_throughput: a backlog read by our consumer with a no-op handler (routed, envelope
//   parsed, strand per partition, commits) and by raw librdkafka rd_kafka_consume_batch_queue
//   that does nothing with the messages; same topic, same run, each with a fresh group; timed from
//   the first record to the last, so group joins are not counted.
// consume_scaling: 12 partitions, a handler that awaits a 1 ms timer: our consumer (partitions
//   concurrently) against the same consumer's records() generator handled one record at a time.
// consume_lag: our consumer (no-op handler) while a separate thread produces at a fixed rate;
//   the sum of per-partition lag (high watermark - first offset not done), sampled every 50 ms.
#include "consume_bench.hpp"

#include "bench_common.hpp"
#include "consume_support.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/ride.hpp>
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

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <functional>
#include <cstdlib>
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace asio = boost::asio;
using namespace txova::kafka;
using namespace txova::kafka::bench;
using namespace std::chrono_literals;

namespace {

// What our consumer's handler does with each record.
enum class handler_work {
  none,       // a no-op route on "*" (the envelope is parsed and routed, the payload not decoded)
  wait_1ms,   // the same, awaiting a 1 ms timer
  typed,      // a typed route: the payload decoded into events::ride_completed, as a Go service does
};

// Our consumer, records per second over `n` records: from the first record to the n-th (a
// waiting handler from the first record's start). CPU is the whole process's from construction
// to the n-th record.
measurement ours_consume(const std::string& brokers, const std::string& topic, std::size_t n,
                         handler_work work = handler_work::none,
                         const std::vector<std::shared_ptr<handler_observer>>* observers = nullptr) {
  const double cpu0 = process_cpu_us();
  asio::io_context ioc;
  consumer c(ioc.get_executor(), bench_consumer(brokers, topic, "bench-ours-" + new_uuid().substr(0, 8)));
  if (observers)
    for (const auto& ob : *observers) c.use(ob);
  std::size_t handled = 0;
  clock_type::time_point first{}, last{};
  double cpu = 0;
  const auto started = [&] {
    if (handled == 0) first = clock_type::now();
  };
  const auto finished = [&] {
    if (++handled < n) return;
    last = clock_type::now();
    cpu = process_cpu_us() - cpu0;
    c.stop();
  };
  if (work == handler_work::typed) {
    c.routes().on<events::ride_completed>([&](const events::ride_completed&, message_context&) -> asio::awaitable<void> {
      started();
      finished();
      co_return;
    });
  } else {
    c.routes().on("*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
      started();
      if (work == handler_work::wait_1ms) co_await wait_1ms();
      finished();
    });
  }
  stall_watch watch(ioc, handled, n, [&] { c.stop(); });
  c.async_run([&](boost::system::error_code) { watch.cancel(); });
  ioc.run();
  if (handled < n)
    return measurement::failed("our consumer stalled after " + std::to_string(handled) + " of " + std::to_string(n) + " records");
  // The first quick record takes no time: n - 1 intervals. The first waiting one takes 1 ms: n.
  const std::size_t intervals = work == handler_work::wait_1ms ? n : n - 1;
  return {static_cast<double>(intervals) / seconds_between(first, last), cpu / static_cast<double>(n), {}};
}

// Raw librdkafka: subscribe, rd_kafka_consume_batch_queue, destroy each message (and, with
// `parse`, parse it as an envelope first: the part of our per-record cost the standard imposes).
measurement raw_consume(const std::string& brokers, const std::string& topic, std::size_t n, bool parse = false) {
  const double cpu0 = process_cpu_us();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  const std::string group = "bench-raw-" + new_uuid().substr(0, 8);
  for (auto [k, v] : {std::pair{"bootstrap.servers", brokers.c_str()}, {"group.id", group.c_str()},
                      {"auto.offset.reset", "earliest"}, {"enable.auto.commit", "false"}, {"fetch.wait.max.ms", "10"}})
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(err);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(1024);
  std::size_t got = 0;
  clock_type::time_point first{};
  auto since_progress = clock_type::now();
  while (got < n && clock_type::now() - since_progress < (got ? stall_limit : 60s)) {
    const ssize_t k = rd_kafka_consume_batch_queue(q, 100, batch.data(), batch.size());
    if (k > 0) since_progress = clock_type::now();
    for (ssize_t i = 0; i < k; ++i) {
      if (!batch[i]->err) {
        if (got++ == 0) first = clock_type::now();
        if (parse) {
          auto e = parse_envelope(std::string_view(static_cast<const char*>(batch[i]->payload), batch[i]->len));
          if (!e) --got;  // counted only when it parsed
        }
      }
      rd_kafka_message_destroy(batch[i]);
    }
  }
  const auto last = clock_type::now();
  const double cpu = process_cpu_us() - cpu0;
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (got < n)
    return measurement::failed("raw librdkafka stalled after " + std::to_string(got) + " of " + std::to_string(n) + " records");
  return {static_cast<double>(n - 1) / seconds_between(first, last), cpu / static_cast<double>(n), {}};
}

// The same work one record at a time, through the records() generator.
measurement sequential_scaling(const std::string& brokers, const std::string& topic, std::size_t n) {
  asio::io_context ioc;
  auto cfg = bench_consumer(brokers, topic, "bench-seq-" + new_uuid().substr(0, 8));
  cfg.shutdown_timeout = 1s;
  consumer c(ioc.get_executor(), cfg);
  std::size_t handled = 0;
  clock_type::time_point first{}, last{};
  stall_watch watch(ioc, handled, n, [&] { c.stop(); });
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    auto stream = c.records();
    while (handled < n) {
      auto [ec, r] = co_await stream.async_next(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      if (handled == 0) first = clock_type::now();
      auto env = parse_envelope(r.value());  // what a handler would be given
      (void)env;
      co_await wait_1ms();
      c.mark_done(r);
      ++handled;
    }
    last = clock_type::now();
    watch.cancel();
    c.stop();
  }, asio::detached);
  ioc.run();
  if (handled < n)
    return measurement::failed("the records() loop ended after " + std::to_string(handled) + " of " + std::to_string(n));
  return {static_cast<double>(n) / seconds_between(first, last), 0, {}};
}

struct lag_result {
  std::int64_t max_lag = -1;
  std::int64_t final_lag = -1;
  std::size_t produced = 0;
  std::size_t handled = 0;
  double achieved_rate = 0;
};

// Our consumer (no-op handler) while another thread produces `rate` msg/s for `run`.
lag_result lag_under_load(const std::string& brokers, const std::string& topic, std::string_view sample, int rate,
                          std::chrono::milliseconds run) {
  lag_result res;
  asio::io_context ioc;
  auto cfg = bench_consumer(brokers, topic, "bench-lag-" + new_uuid().substr(0, 8));
  cfg.auto_offset_reset = "latest";
  consumer c(ioc.get_executor(), cfg);
  c.routes().on("*", [&](const envelope&, message_context&) -> asio::awaitable<void> {
    ++res.handled;
    co_return;
  });
  std::atomic<bool> producing{false}, produced_all{false};
  std::thread producer;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(ioc);
    // Assigned and positioned first (librdkafka has reported a watermark for every partition).
    const auto ready = [&] {
      const auto l = c.lag();
      return !l.empty() && std::all_of(l.begin(), l.end(), [](const auto& x) { return x.high_watermark >= 0; });
    };
    for (int i = 0; i < 600 && !ready(); ++i) {
      t.expires_after(50ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    producing = true;
    producer = std::thread([&] {
      backlog_writer w(brokers, topic, sample);
      const auto t0 = clock_type::now();
      const auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
      std::size_t i = 0;
      while (clock_type::now() - t0 < run) {
        const auto due = t0 + interval * i;
        if (clock_type::now() < due) std::this_thread::sleep_until(due);
        w.write_one(i++);
      }
      res.produced = i;
      res.achieved_rate = static_cast<double>(i) / seconds_between(t0, clock_type::now());
      produced_all = true;
    });
    const auto deadline = clock_type::now() + run + 10s;
    while (clock_type::now() < deadline) {
      t.expires_after(50ms);
      co_await t.async_wait(asio::use_awaitable);
      std::int64_t sum = 0;
      for (const auto& l : c.lag()) sum += std::max<std::int64_t>(0, l.lag);
      res.max_lag = std::max(res.max_lag, sum);
      res.final_lag = sum;
      if (produced_all && sum == 0) break;
    }
    c.stop();
  }, asio::detached);
  c.async_run([](boost::system::error_code) {});
  ioc.run();
  if (producer.joinable()) producer.join();
  return res;
}

bool create(const std::function<bool(const std::string&, int)>& create_topic, const std::string& topic, int partitions) {
  if (create_topic(topic, partitions)) return true;
  std::fprintf(stderr, "txova-bench: cannot create %s\n", topic.c_str());
  return false;
}

}  // namespace

measurement typed_consume_rate(const std::string& brokers, const std::string& topic, std::size_t n) {
  return ours_consume(brokers, topic, n, handler_work::typed);
}

void write_backlog(const std::string& brokers, const std::string& topic, std::string_view sample, std::size_t n) {
  backlog_writer w(brokers, topic, sample);
  w.write(n);
}

int run_consumer_section(const consume_options& o) {
  const std::string id = new_uuid().substr(0, 8);
  const std::string backlog_topic = "txova.bench.consume." + id;
  const std::string scaling_topic = "txova.bench.scale." + id;
  const std::string lag_topic = "txova.bench.lag." + id;
  if (!create(o.create_topic, backlog_topic, 3) || !create(o.create_topic, scaling_topic, 12) ||
      !create(o.create_topic, lag_topic, 3))
    return 1;

  std::size_t n = o.quick ? 100000 : 300000;
  if (const char* b = std::getenv("TXOVA_BENCH_BACKLOG")) n = std::stoul(b);  // experiments: a longer profile
  const int rounds = o.quick ? 1 : 2;
  progress("[consume] writing a backlog of %zu records on 3 partitions", n);
  {
    backlog_writer w(o.brokers, backlog_topic, o.sample);
    w.write(n);
    if (const std::size_t kept = w.retained(3); kept < n) {
      progress("[consume] the %s holds %zu of the %zu records written (%s); measuring on those",
               o.embedded ? "embedded cluster" : "broker", kept, n,
               o.embedded ? "librdkafka's mock keeps the newest 5 MiB per partition; a real broker measures the full "
                            "backlog: scripts/demo --real-broker"
                          : "its retention dropped the rest");
      n = kept;
    }
  }
  measurement ours, raw, raw_parse;
  for (int r = 0; r < rounds; ++r) {
    progress("[consume] throughput round %d of %d: ours, raw librdkafka, raw + parse_envelope", r + 1, rounds);
    ours = best(ours, ours_consume(o.brokers, backlog_topic, n));
    raw = best(raw, raw_consume(o.brokers, backlog_topic, n));
    raw_parse = best(raw_parse, raw_consume(o.brokers, backlog_topic, n, true));
  }
#ifdef TXOVA_BENCH_METRICS
  measurement plain, instrumented;
  {
    txova::kafka::metrics m;
    std::vector<std::shared_ptr<handler_observer>> observers;
    if (bench::observer_wanted("metrics")) observers.push_back(m.consumer_middleware());
    if (bench::observer_wanted("tracing")) observers.push_back(consumer_tracing(std::make_shared<bench::discarding_tracer>()));
    if (bench::observer_wanted("header")) observers.push_back(std::make_shared<bench::header_reading_observer>());
    for (int r = 0; r < rounds; ++r) {
      progress("[consume] middleware cost round %d of %d: without, then with the metrics and tracing middleware", r + 1, rounds);
      plain = best(plain, ours_consume(o.brokers, backlog_topic, n));
      instrumented = best(instrumented, ours_consume(o.brokers, backlog_topic, n, handler_work::none, &observers));
    }
  }
#endif
  std::printf("\nconsume throughput, backlog of %zu records, 3 partitions (best of %d, first to last record)\n", n, rounds);
  auto rate_line = [](const char* who, const measurement& m) {
    if (m.ok() && m.cpu_us_per_message > 0)
      std::printf("  %-34s %12.0f msg/s %8.2f us CPU\n", who, m.per_second, m.cpu_us_per_message);
    else std::printf("  %-34s %s\n", who, rate_text(m).c_str());
  };
  rate_line("ours (no-op handler)", ours);
  rate_line("raw librdkafka batch consume", raw);
  rate_line("raw + parse_envelope per record", raw_parse);

  const std::size_t scale_n = o.quick ? 6000 : 24000;
  const std::size_t seq_n = o.quick ? 1000 : 3000;
  progress("[consume] scaling: %zu records on 12 partitions, a handler that awaits 1 ms", scale_n);
  {
    backlog_writer w(o.brokers, scaling_topic, o.sample);
    w.write(scale_n, 12);  // evenly: the measure is concurrency across partitions, not key skew
  }
  const measurement concurrent = ours_consume(o.brokers, scaling_topic, scale_n, handler_work::wait_1ms);
  const measurement sequential = sequential_scaling(o.brokers, scaling_topic, seq_n);
  std::printf("\nconsume scaling, 12 partitions, handler awaits a 1 ms timer\n");
  std::printf("  %-34s %s (%zu records)\n", "ours (a strand per partition)", rate_text(concurrent).c_str(), scale_n);
  std::printf("  %-34s %s (%zu records)\n", "one record at a time", rate_text(sequential).c_str(), seq_n);

  const auto lag_run = o.quick ? 3000ms : 10000ms;
  progress("[consume] lag while another client produces %d msg/s for %lld ms", o.lag_rate,
           static_cast<long long>(lag_run.count()));
  const auto lag = lag_under_load(o.brokers, lag_topic, o.sample, o.lag_rate, lag_run);
  std::printf("\nconsume lag while %d msg/s are produced by another client (%.0f achieved, %zu produced, %zu handled)\n",
              o.lag_rate, lag.achieved_rate, lag.produced, lag.handled);
  if (lag.max_lag >= 0)
    std::printf("  max total lag %lld records, at the end %lld\n", static_cast<long long>(lag.max_lag),
                static_cast<long long>(lag.final_lag));
  else
    std::printf("  not measured (the consumer was not assigned with watermarks in 30 s)\n");

  std::printf("\n");
  if (ours.ok() && raw.ok() && raw_parse.ok()) {
    std::printf("consume_throughput ours=%.0f raw=%.0f ratio=%.3f raw_with_parse=%.0f ratio_to_raw_with_parse=%.3f\n",
                ours.per_second, raw.per_second, ours.per_second / raw.per_second, raw_parse.per_second,
                ours.per_second / raw_parse.per_second);
    std::printf("consume_cpu ours_us=%.2f raw_us=%.2f ratio=%.3f\n", ours.cpu_us_per_message, raw.cpu_us_per_message,
                raw.cpu_us_per_message > 0 ? ours.cpu_us_per_message / raw.cpu_us_per_message : 0.0);
  } else {
    std::printf("consume_throughput not measured: ours %s, raw %s, raw + parse %s\n", rate_text(ours).c_str(),
                rate_text(raw).c_str(), rate_text(raw_parse).c_str());
  }
#ifdef TXOVA_BENCH_METRICS
  if (plain.ok() && instrumented.ok())
    std::printf("middleware_cost operation=consume observers=%s off_msgs=%.0f on_msgs=%.0f ratio=%.3f off_cpu_us=%.2f on_cpu_us=%.2f cpu_ratio=%.3f\n",
                bench::observers_text(), plain.per_second, instrumented.per_second, instrumented.per_second / plain.per_second, plain.cpu_us_per_message,
                instrumented.cpu_us_per_message, instrumented.cpu_us_per_message / plain.cpu_us_per_message);
#endif
  if (concurrent.ok() && sequential.ok())
    std::printf("consume_scaling partitions=12 handler_ms=1 ours=%.0f sequential=%.0f speedup=%.2f\n", concurrent.per_second,
                sequential.per_second, concurrent.per_second / sequential.per_second);
  else
    std::printf("consume_scaling not measured: ours %s, one at a time %s\n", rate_text(concurrent).c_str(),
                rate_text(sequential).c_str());
  if (lag.max_lag >= 0)
    std::printf("consume_lag rate=%d max_lag=%lld final_lag=%lld\n", o.lag_rate, static_cast<long long>(lag.max_lag),
                static_cast<long long>(lag.final_lag));
  std::fflush(stdout);
  return ours.ok() && raw.ok() && raw_parse.ok() && concurrent.ok() && sequential.ok() && lag.max_lag >= 0 ? 0 : 1;
}
