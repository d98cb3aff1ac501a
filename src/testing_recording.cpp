// The test kit's recording producer (testing/recording_producer.hpp): the producer over a port
// that stores into an event_store and acknowledges on the producer's executor.
#include <txova/kafka/testing/recording_producer.hpp>

#include "testing_recording_port.hpp"

#include <txova/kafka/detail/producer_port.hpp>
#include <txova/kafka/detail/publish_fsm.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/crc.hpp>

#include <list>
#include <mutex>

namespace txova::kafka::testing {

namespace asio = boost::asio;
using boost::system::error_code;

std::int32_t partition_for(std::string_view key, std::int32_t partitions, key_partitioner p) {
  if (partitions <= 0) return 0;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const std::size_t n = key.size();
  switch (p) {
    case key_partitioner::sarama: {  // FNV-1a 32, signed modulo, negated when negative
      std::uint32_t h = 2166136261u;
      for (std::size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 16777619u;
      std::int32_t r = static_cast<std::int32_t>(h) % partitions;
      return r < 0 ? -r : r;
    }
    case key_partitioner::java: {  // Kafka's murmur2, high bit masked
      constexpr std::uint32_t m = 0x5bd1e995;
      std::uint32_t h = 0x9747b28cu ^ static_cast<std::uint32_t>(n);
      for (std::size_t i = 0; i + 4 <= n; i += 4) {
        std::uint32_t k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (static_cast<std::uint32_t>(data[i + 3]) << 24);
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
      }
      const std::size_t tail = n & ~std::size_t{3};
      switch (n % 4) {
        case 3: h ^= static_cast<std::uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
        case 2: h ^= static_cast<std::uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
        case 1: h ^= data[tail]; h *= m;
      }
      h ^= h >> 13;
      h *= m;
      h ^= h >> 15;
      return static_cast<std::int32_t>((h & 0x7fffffffu) % static_cast<std::uint32_t>(partitions));
    }
    case key_partitioner::librdkafka: {  // consistent_random: CRC32 of the key
      boost::crc_32_type crc;
      crc.process_bytes(data, n);
      return static_cast<std::int32_t>(crc.checksum() % static_cast<std::uint32_t>(partitions));
    }
  }
  return 0;
}

struct recording_producer::state {
  asio::any_io_executor ex;
  std::shared_ptr<event_store> store;
  recording_options options;
  key_partitioner partitioner = key_partitioner::sarama;
  std::mutex mutex;  // the test's calls (fail_next, hold) and the producer's strand
  detail::producer_events* sink = nullptr;
  std::size_t fail_remaining = 0;
  error_code fail_ec;
  bool fail_persisted = false;
  std::chrono::milliseconds delay{0};
  bool held = false;
  std::uint64_t unkeyed = 0;  // round-robin for records without a key
  struct pending {
    record_data record;
    void* opaque = nullptr;
    error_code ec;
    bool persisted = false;
    bool purged = false;
  };
  std::list<pending> in_flight;

  std::int32_t partitions_of(std::string_view topic) const {
    auto it = options.partitions_of.find(topic);
    return it == options.partitions_of.end() ? options.partitions : it->second;
  }

  // On the executor: stores (success) and reports one pending message.
  void finish(std::list<pending>::iterator it) {
    detail::delivery_report r;
    std::int64_t offset = -1;
    {
      std::lock_guard lock(mutex);
      if (!sink) return;
      r.opaque = it->opaque;
      r.ec = it->purged ? make_rdkafka_error(-152 /* _PURGE_QUEUE */) : it->ec;
      r.partition = it->record.partition;
      if (!r.ec) offset = store->append(std::move(it->record)).record.offset;
      r.status = r.ec ? (it->persisted ? detail::persistence::possibly_persisted : detail::persistence::not_persisted)
                      : detail::persistence::persisted;
      in_flight.erase(it);
    }
    const std::string text = r.ec ? r.ec.message() : std::string();
    r.error_text = text;
    r.offset = offset;
    if (r.ec) r.partition = -1;
    sink->on_delivery(r);
    sink->on_room();
  }

  void schedule(const std::shared_ptr<state>& self, std::list<pending>::iterator it, std::chrono::milliseconds d) {
    if (d.count() <= 0) return asio::post(ex, [self, it] { self->finish(it); });
    auto timer = std::make_shared<asio::steady_timer>(ex, d);
    timer->async_wait([self, it, timer](error_code) { self->finish(it); });
  }
};

namespace {

class recording_port final : public detail::producer_port {
public:
  explicit recording_port(std::shared_ptr<recording_producer::state> s) : s_(std::move(s)) {}
  void start(detail::producer_events& sink) override {
    std::lock_guard lock(s_->mutex);
    s_->sink = &sink;
  }
  outcome produce(const detail::outgoing_message& m, error_code&, std::string&) override {
    std::list<recording_producer::state::pending>::iterator it;
    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(s_->mutex);
      if (s_->held) return outcome::queue_full;
      record_data d;
      d.topic = std::string(m.topic);
      if (m.key) d.key = std::string(*m.key);
      if (m.value) d.value = std::string(*m.value);
      for (const auto& [k, v] : m.headers) d.headers.emplace_back(std::string(k), std::string(v));
      const std::int32_t n = s_->partitions_of(d.topic);
      d.partition = m.partition >= 0 ? m.partition
                    : d.key      ? partition_for(*d.key, n, s_->partitioner)
                                 : static_cast<std::int32_t>(s_->unkeyed++ % static_cast<std::uint64_t>(n > 0 ? n : 1));
      d.broker_time = now_utc();
      recording_producer::state::pending p{std::move(d), m.opaque, {}, false, false};
      if (s_->fail_remaining > 0) {
        --s_->fail_remaining;
        p.ec = s_->fail_ec;
        p.persisted = s_->fail_persisted;
      }
      it = s_->in_flight.insert(s_->in_flight.end(), std::move(p));
      delay = s_->delay;
    }
    s_->schedule(s_, it, delay);
    return outcome::accepted;
  }
  // Held, the queue counts as holding messages of others: full, not too small for this one.
  std::size_t queue_depth() const override {
    std::lock_guard lock(s_->mutex);
    return s_->in_flight.size() + (s_->held ? 1 : 0);
  }
  void purge() override { purge_queued(); }
  void purge_queued() override {
    std::lock_guard lock(s_->mutex);
    for (auto& p : s_->in_flight) p.purged = true;  // reported as purged when their ack was due
  }
  void probe(std::uint64_t id, std::chrono::milliseconds) override {
    auto s = s_;
    asio::post(s->ex, [s, id] {
      if (s->sink) s->sink->on_probe_result(id, {}, {});
    });
  }
  void set_busy(bool) override {}  // posted acks and ack timers keep the executor's run() going
  void stop() noexcept override {
    std::lock_guard lock(s_->mutex);
    s_->sink = nullptr;
  }

private:
  std::shared_ptr<recording_producer::state> s_;
};

}  // namespace

recording_producer::recording_producer(asio::any_io_executor ex, producer_config cfg, recording_options options,
                                       std::shared_ptr<event_store> store)
    : state_(std::make_shared<state>()), store_(std::move(store)) {
  state_->ex = ex;
  state_->store = store_;
  state_->options = std::move(options);
  state_->partitioner = cfg.partitioner;
  if (cfg.brokers.empty()) cfg.brokers = "recording-producer:0";  // never dialled
  producer_ = std::make_unique<kafka::producer>(std::move(ex), std::move(cfg), std::make_unique<recording_port>(state_));
}

recording_producer::~recording_producer() = default;

std::unique_ptr<kafka::detail::producer_port> make_recording_port(asio::any_io_executor ex,
                                                          std::shared_ptr<event_store> store, recording_options options) {
  auto s = std::make_shared<recording_producer::state>();
  s->ex = std::move(ex);
  s->store = std::move(store);
  s->options = std::move(options);
  return std::make_unique<recording_port>(std::move(s));
}

void recording_producer::fail_next(std::size_t n, error_code ec, bool persisted) {
  std::lock_guard lock(state_->mutex);
  state_->fail_remaining = n;
  state_->fail_ec = ec;
  state_->fail_persisted = persisted;
}

void recording_producer::delay_acks(std::chrono::milliseconds d) {
  std::lock_guard lock(state_->mutex);
  state_->delay = d;
}

void recording_producer::hold(bool held) {
  {
    std::lock_guard lock(state_->mutex);
    state_->held = held;
  }
  if (!held) {
    auto s = state_;
    asio::post(s->ex, [s] {
      if (s->sink) s->sink->on_room();
    });
  }
}

std::size_t recording_producer::in_flight() const {
  std::lock_guard lock(state_->mutex);
  return state_->in_flight.size();
}

}  // namespace txova::kafka::testing
