#pragma once
// What the consume measurements of txova-bench share: a plain librdkafka backlog writer, the
// consumer settings, and a watch that stops a run that makes no progress.
#include "bench_common.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/envelope.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <librdkafka/rdkafka.h>

#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace txova::kafka::bench {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// How long a consume run may go without a new record before it is called stalled.
constexpr auto stall_limit = 20s;

// A plain librdkafka producer writing `sample` envelopes with distinct keys.
class backlog_writer {
public:
  backlog_writer(const std::string& brokers, std::string topic, std::string_view sample) : topic_(std::move(topic)) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (auto [k, v] : {std::pair{"bootstrap.servers", brokers.c_str()}, {"linger.ms", "5"}, {"batch.size", "65536"},
                        {"compression.type", "snappy"}, {"queue.buffering.max.messages", "200000"}})
      if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) throw std::runtime_error(err);
    rkt_ = rd_kafka_topic_new(rk_, topic_.c_str(), nullptr);
    envelope base = parse_envelope(sample).value();
    for (int i = 0; i < 512; ++i) {
      envelope e = base;
      e.id = new_uuid();
      keys_.push_back("ride-" + std::to_string(200000 + i));
      texts_.push_back(to_json(e));
    }
  }
  ~backlog_writer() {
    rd_kafka_flush(rk_, 30000);
    rd_kafka_topic_destroy(rkt_);
    rd_kafka_destroy(rk_);
  }

  void write_one(std::size_t i, int partitions_round_robin = 0) {
    const std::string& key = keys_[i % keys_.size()];
    const std::string& text = texts_[i % texts_.size()];
    const std::int32_t partition =
        partitions_round_robin > 0 ? static_cast<std::int32_t>(i % static_cast<std::size_t>(partitions_round_robin))
                                   : RD_KAFKA_PARTITION_UA;
    while (rd_kafka_produce(rkt_, partition, 0, const_cast<char*>(text.data()), text.size(), key.data(),
                            key.size(), nullptr) == -1)
      rd_kafka_poll(rk_, 5);  // queue full
    rd_kafka_poll(rk_, 0);
  }
  /// Records the broker still holds on partitions 0..partitions-1 (high - low watermark): the
  /// embedded cluster keeps only the newest 5 MiB of each partition.
  std::size_t retained(int partitions) {
    std::size_t sum = 0;
    for (int p = 0; p < partitions; ++p) {
      std::int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &low, &high, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        sum += static_cast<std::size_t>(std::max<std::int64_t>(0, high - low));
    }
    return sum;
  }
  // `partitions_round_robin` > 0: spread evenly over that many partitions instead of by key.
  void write(std::size_t n, int partitions_round_robin = 0) {
    for (std::size_t i = 0; i < n; ++i) write_one(i, partitions_round_robin);
    rd_kafka_flush(rk_, 60000);
  }

private:
  std::string topic_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* rkt_ = nullptr;
  std::vector<std::string> keys_, texts_;
};

inline consumer_config bench_consumer(const std::string& brokers, const std::string& topic, const std::string& group) {
  consumer_config c;
  c.brokers = brokers;
  c.group_id = group;
  c.topics = {topic};
  c.session_timeout = 10s;
  c.heartbeat_interval = 1s;
  c.statistics_interval = 0ms;
  c.properties["fetch.wait.max.ms"] = "10";
  if (const char* m = std::getenv("TXOVA_BENCH_MAX_POLL_RECORDS")) c.max_poll_records = std::stoul(m);
  // Experiments: TXOVA_BENCH_CONSUMER_PROPERTIES="k=v,k=v" adds librdkafka properties.
  if (const char* props = std::getenv("TXOVA_BENCH_CONSUMER_PROPERTIES")) {
    std::string_view rest(props);
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view kv = rest.substr(0, comma);
      if (const auto eq = kv.find('='); eq != std::string_view::npos)
        c.properties[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return c;
}

// Never hang the benchmark: calls `stop` when `count` has not moved for stall_limit (60 s before
// the first record), checking once a second.
class stall_watch {
public:
  stall_watch(asio::io_context& ioc, const std::size_t& count, std::size_t goal, std::function<void()> stop)
      : timer_(ioc), count_(count), goal_(goal), stop_(std::move(stop)) {
    check({});
  }
  void cancel() { timer_.cancel(); }

private:
  void check(boost::system::error_code ec) {
    if (ec || count_ >= goal_) return;
    if (count_ != seen_) seen_ = count_, since_progress_ = clock_type::now();
    if (clock_type::now() - since_progress_ > (seen_ ? stall_limit : std::chrono::seconds(60))) return stop_();
    timer_.expires_after(1s);
    timer_.async_wait([this](boost::system::error_code e) { check(e); });
  }
  asio::steady_timer timer_;
  const std::size_t& count_;
  std::size_t goal_;
  std::function<void()> stop_;
  std::size_t seen_ = 0;
  clock_type::time_point since_progress_ = clock_type::now();
};

inline asio::awaitable<void> wait_1ms() {
  asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace txova::kafka::bench
