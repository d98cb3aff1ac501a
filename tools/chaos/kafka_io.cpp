// What the director does with Kafka outside the scenarios' own clients: create topics, read a
// topic back from its start (raw librdkafka: an independent reader, not the consumer under test),
// ask for end and committed offsets, and write a backlog with our producer.
#include "chaos.hpp"
#include "kafka_io.hpp"
#include "publisher.hpp"

#include <txova/kafka/admin.hpp>
#include <txova/kafka/envelope.hpp>

#include <librdkafka/rdkafka.h>

#include <memory>
#include <stdexcept>

namespace chaos {
namespace kafka = txova::kafka;

void create_topic(const std::string& brokers, const std::string& topic, int partitions, int replication,
                  const std::map<std::string, std::string>& configs) {
  sync([&]() -> asio::awaitable<void> {
    // (GCC 12 mishandles temporaries in a full expression holding a co_await: no temporaries here)
    const auto ex = co_await asio::this_coro::executor;
    const kafka::admin_config cfg{.brokers = brokers};
    kafka::admin a(ex, cfg);
    std::vector<kafka::topic_spec> specs{{topic, partitions, replication, std::nullopt, configs},
                                         {topic + ".dlq", partitions, replication, std::nullopt, configs}};
    auto [ec, outcomes] = co_await a.async_create_topics(std::move(specs), asio::as_tuple(asio::use_awaitable));
    if (ec) throw std::runtime_error("create " + topic + ": " + ec.message());
    for (const auto& o : outcomes)
      if (o.ec) throw std::runtime_error("create " + o.topic + ": " + o.message);
  }());
}

namespace {
using handle = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;
using partition_list = std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>;

handle consumer_handle(const std::string& brokers, const std::string& group) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (auto [k, v] : {std::pair<const char*, std::string>{"bootstrap.servers", brokers}, {"group.id", group},
                      {"enable.auto.commit", "false"}, {"enable.partition.eof", "false"},
                      {"fetch.message.max.bytes", "8388608"}, {"receive.message.max.bytes", "104857600"}})
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string(k) + ": " + err);
    }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  return handle(rk, &rd_kafka_destroy);
}

int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 30000);
  rd_kafka_topic_destroy(rkt);
  if (err) throw std::runtime_error("metadata of " + topic + ": " + rd_kafka_err2str(err));
  const int n = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : -1;
  rd_kafka_metadata_destroy(md);
  if (n <= 0) throw std::runtime_error("metadata of " + topic + ": no partitions");
  return n;
}

std::map<std::int32_t, std::int64_t> ends(rd_kafka_t* rk, const std::string& topic) {
  std::map<std::int32_t, std::int64_t> out;
  const int n = partition_count(rk, topic);
  for (int p = 0; p < n; ++p) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 20; ++attempt)  // a partition whose leader just moved answers later
      if (!(err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000))) break;
    if (err) throw std::runtime_error("end offset of " + topic + "[" + std::to_string(p) + "]: " + rd_kafka_err2str(err));
    out[p] = high;
  }
  return out;
}
}  // namespace

std::map<std::int32_t, std::int64_t> end_offsets(const std::string& brokers, const std::string& topic) {
  auto rk = consumer_handle(brokers, "chaos-offsets");
  return ends(rk.get(), topic);
}

std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& brokers, const std::string& group,
                                                       const std::string& topic) {
  auto rk = consumer_handle(brokers, group);
  const int n = partition_count(rk.get(), topic);
  partition_list list(rd_kafka_topic_partition_list_new(n), &rd_kafka_topic_partition_list_destroy);
  for (int p = 0; p < n; ++p) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  if (const auto err = rd_kafka_committed(rk.get(), list.get(), 30000))
    throw std::runtime_error("committed offsets of " + group + ": " + rd_kafka_err2str(err));
  std::map<std::int32_t, std::int64_t> out;
  for (int i = 0; i < list->cnt; ++i) out[list->elems[i].partition] = list->elems[i].offset;
  return out;
}

void read_all(const std::string& brokers, const std::string& topic, const std::function<void(const rd_kafka_message_t&)>& fn) {
  auto rk = consumer_handle(brokers, "chaos-readback-" + kafka::new_uuid().substr(0, 8));
  const auto high = ends(rk.get(), topic);
  partition_list list(rd_kafka_topic_partition_list_new(static_cast<int>(high.size())),
                      &rd_kafka_topic_partition_list_destroy);
  std::map<std::int32_t, std::int64_t> next;
  for (const auto& [p, h] : high) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    next[p] = 0;
  }
  if (const auto err = rd_kafka_assign(rk.get(), list.get()))
    throw std::runtime_error("assign " + topic + ": " + rd_kafka_err2str(err));
  const auto done = [&] {
    for (const auto& [p, h] : high)
      if (next[p] < h) return false;
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + 180s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("read back " + topic + ": not at its end after 180 s");
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 500);
    if (!m) continue;
    std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> msg(m, &rd_kafka_message_destroy);
    if (m->err) continue;  // partition EOF and transient fetch errors: keep reading
    next[m->partition] = std::max(next[m->partition], m->offset + 1);
    fn(*m);
  }
  rd_kafka_consumer_close(rk.get());
}

std::vector<seen> read_back(const std::string& brokers, const std::string& topic, std::int64_t* others) {
  std::vector<seen> out;
  read_all(brokers, topic, [&](const rd_kafka_message_t& m) {
    const std::string_view value(static_cast<const char*>(m.payload), m.payload ? m.len : 0);
    auto e = kafka::parse_envelope(value);
    std::optional<tick> t;
    if (e && e->type == tick::info.type)
      if (auto p = kafka::payload_as<tick>(*e)) t = std::move(*p);
    if (!t) {
      if (others) ++*others;
      return;
    }
    out.push_back({e->id, t->key.str(), t->seq, m.partition, m.offset});
  });
  return out;
}

std::vector<std::string> publish_ticks(const std::string& brokers, const std::string& topic, std::int64_t count,
                                       int keys, std::size_t pad_bytes, std::string compression) {
  ledger l;
  sync([&]() -> asio::awaitable<void> {
    kafka::producer_config cfg;
    cfg.brokers = brokers;
    cfg.event_catalog = &chaos_catalog();
    cfg.linger = 20ms;
    cfg.compression = compression;
    cfg.batch_bytes = 1 << 20;
    cfg.max_message_bytes = std::max<std::size_t>(pad_bytes * 2 + 4096, 1 << 20);
    kafka::producer p(co_await asio::this_coro::executor, cfg);
    const publish_plan plan{.count = count, .keys = keys, .window = 20000, .pad_bytes = pad_bytes};
    co_await publish_all(p, topic, plan, l);
    co_await p.async_close(30s, asio::as_tuple(asio::use_awaitable));
  }());
  if (l.acked_count != count)
    throw std::runtime_error("writing " + topic + ": " + std::to_string(count - l.acked_count) + " of " +
                             std::to_string(count) + " publishes failed (" + l.first_error + ")");
  return l.ids;
}

}  // namespace chaos
