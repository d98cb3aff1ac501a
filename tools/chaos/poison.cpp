// poison: good envelopes interleaved with hostile records of our own making. Every good one must
// be handled; every hostile one must be in the DLQ with its reason or counted under the documented
// policy (tombstones skipped, unknown types logged and committed, odd keys and headers handled);
// offsets committed to the end of every partition; the consumer still running.
#include "chaos.hpp"
#include "kafka_io.hpp"

#include <txova/kafka/consumer.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/envelope.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>
#include <stdexcept>

namespace chaos {
namespace kafka = txova::kafka;

namespace {

constexpr std::string_view hostile_header = "chaos-hostile";

struct record {
  std::string name;  ///< empty for a good one
  std::string key;
  std::optional<std::string> value;  ///< nullopt: a tombstone
  std::vector<std::pair<std::string, std::string>> headers;
};

std::string tick_json(const std::string& key, std::int64_t seq, std::size_t pad = 0) {
  return kafka::to_json(kafka::make_envelope(tick{ids::key_id(key), seq, std::string(pad, 'p')}, {.source = "txova-chaos"}));
}

/// `{"id":...,"type":...,...}` spelled by hand, with `fields` replacing or adding members.
std::string handmade(const std::string& id, const std::string& fields_json) {
  return "{\"id\":\"" + id + "\"," + fields_json + "}";
}

std::vector<record> hostile_records() {
  const std::string ts = "\"timestamp\":\"2026-12-01T10:00:00Z\"", common = "\"source\":\"txova-chaos\",\"correlation_id\":\"c-1\"";
  const std::string payload = "\"payload\":{\"key\":\"k-h\",\"seq\":1,\"pad\":\"\"}";
  const std::string good = tick_json("k-h", 1);
  std::vector<record> h;
  h.push_back({"not-json", "k-h", "this is not json at all", {}});
  h.push_back({"truncated", "k-h", good.substr(0, good.size() / 2), {}});
  h.push_back({"empty", "k-h", std::string(), {}});
  h.push_back({"tombstone", "k-h", std::nullopt, {}});
  h.push_back({"oversized-2mb", "k-h", tick_json("k-h", 1, 2 * 1024 * 1024), {}});
  h.push_back({"missing-field", "k-h", handmade(kafka::new_uuid(), "\"type\":\"chaos.tick\",\"version\":\"1.0\"," + ts + "," + payload), {}});
  h.push_back({"wrong-type", "k-h", handmade(kafka::new_uuid(), "\"type\":\"chaos.tick\",\"version\":1," + common + "," + ts + "," + payload), {}});
  h.push_back({"invalid-utf8", "k-h",
               handmade(kafka::new_uuid(), "\"type\":\"chaos.tick\",\"version\":\"1.0\"," + common + "," + ts +
                                               ",\"payload\":{\"key\":\"k-\xff\xfe\",\"seq\":1,\"pad\":\"\"}"),
               {}});
  h.push_back({"nesting-20000", "k-h",
               handmade(kafka::new_uuid(), "\"type\":\"chaos.tick\",\"version\":\"1.0\"," + common + "," + ts +
                                               ",\"payload\":{\"key\":\"k-h\",\"seq\":1,\"pad\":\"\",\"deep\":" +
                                               std::string(20000, '[') + std::string(20000, ']') + "}"),
               {}});
  h.push_back({"duplicate-keys", "k-h",
               handmade(kafka::new_uuid(), "\"type\":\"chaos.tick\",\"type\":\"chaos.other\",\"version\":\"1.0\"," + common +
                                               "," + ts + "," + payload),
               {}});
  h.push_back({"non-utc-timestamp", "k-h",
               handmade(kafka::new_uuid(), "\"type\":\"chaos.tick\",\"version\":\"1.0\"," + common +
                                               ",\"timestamp\":\"2026-12-01T10:00:00+02:00\"," + payload),
               {}});
  h.push_back({"unknown-type", "k-h", kafka::to_json(kafka::make_envelope("chaos.unknown", "1.0", "{\"key\":\"k-h\"}", {.source = "txova-chaos"})), {}});
  h.push_back({"binary-key", std::string("\x00\xff\xfe\x01", 4), tick_json("k-h", 1), {}});
  h.push_back({"binary-headers", "k-h", tick_json("k-h", 1), {{"bin", std::string("\x00\xff\x80\x01", 4)}, {"\xff\xfe", "x"}}});
  for (auto& r : h) r.headers.emplace_back(std::string(hostile_header), r.name);
  return h;
}

void produce(const std::string& brokers, const std::string& topic, const std::vector<record>& records) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (auto [k, v] : {std::pair{"bootstrap.servers", brokers.c_str()}, {"message.max.bytes", "8388608"}, {"linger.ms", "5"},
                      {"partitioner", "fnv1a_random"}})
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err),
                                                              &rd_kafka_destroy);
  if (!rk) throw std::runtime_error(err);
  for (const auto& r : records) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size());
    for (const auto& [n, v] : r.headers) rd_kafka_header_add(hdrs, n.data(), static_cast<ssize_t>(n.size()), v.data(), static_cast<ssize_t>(v.size()));
    void* value = r.value ? const_cast<char*>(r.value->data()) : nullptr;
    const std::size_t value_size = r.value ? r.value->size() : 0;
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
        RD_KAFKA_V_VALUE(value, value_size),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (e) {
      rd_kafka_headers_destroy(hdrs);
      throw std::runtime_error("produce " + r.name + ": " + rd_kafka_err2str(e));
    }
  }
  if (rd_kafka_flush(rk.get(), 60000) != RD_KAFKA_RESP_ERR_NO_ERROR || rd_kafka_outq_len(rk.get()) != 0)
    throw std::runtime_error("poison: records not delivered within 60 s");
}

}  // namespace

figures poison(const options& o, cluster& c) {
  figures f{.scenario = "poison"};
  const auto started = std::chrono::steady_clock::now();
  const std::string suffix = kafka::new_uuid().substr(0, 8);
  const std::string topic = "chaos.poison." + suffix, group = "chaos-poison-" + suffix;
  create_topic(c.brokers(), topic, 4, 1, {{"max.message.bytes", "4194304"}});

  const auto hostile = hostile_records();
  const std::int64_t goods = o.count(1000, 300);
  std::vector<record> records;
  std::set<std::string> good_ids;
  const std::size_t every = static_cast<std::size_t>(goods) / hostile.size();
  for (std::int64_t i = 0, h = 0; i < goods; ++i) {
    const std::string key = "k" + std::to_string(i % 20);
    const std::string text = tick_json(key, i / 20 + 1);
    good_ids.insert(kafka::parse_envelope(text)->id);
    records.push_back({"", key, text, {}});
    if ((i + 1) % static_cast<std::int64_t>(every) == 0 && h < static_cast<std::int64_t>(hostile.size()))
      records.push_back(hostile[static_cast<std::size_t>(h++)]);
  }
  produce(c.brokers(), topic, records);
  f.published = f.acked = static_cast<std::int64_t>(records.size());

  std::set<std::string> handled_good, handled_hostile;
  kafka::consumer_stats stats;
  bool healthy = false, running = false;
  boost::system::error_code run_ec;
  sync([&]() -> asio::awaitable<void> {
    kafka::consumer_config cfg;
    cfg.brokers = c.brokers();
    cfg.group_id = group;
    cfg.topics = {topic};
    kafka::consumer consumer(co_await asio::this_coro::executor, cfg);
    consumer.routes().on<tick>([&](const tick&, kafka::message_context& ctx) -> asio::awaitable<void> {
      if (auto name = ctx.header(hostile_header)) handled_hostile.insert(*name);
      else handled_good.insert(ctx.event_id());
      co_return;
    });
    bool ended = false;
    consumer.async_run([&](boost::system::error_code ec) { run_ec = ec, ended = true; });
    const auto deadline = std::chrono::steady_clock::now() + 180s;
    const auto at_end = [&] {
      const auto lag = consumer.lag();
      if (lag.size() != 4) return false;
      for (const auto& l : lag)
        if (l.high_watermark < 0 || l.lag != 0) return false;
      return true;
    };
    while (!ended && std::chrono::steady_clock::now() < deadline &&
           !(handled_good.size() == good_ids.size() && at_end()))
      co_await sleep_for(100ms);
    co_await sleep_for(cfg.commit_interval * 2);  // the last offsets reach the broker
    auto [hec, health] = co_await consumer.async_health_check(asio::as_tuple(asio::use_awaitable));
    healthy = !hec && health.healthy;
    running = health.running && !ended;
    stats = consumer.stats();
    consumer.stop();
    while (!ended) co_await sleep_for(20ms);
  }());

  // What reached the DLQ, by the hostile name its original headers carry.
  std::map<std::string, std::string> dead_lettered;  // name -> reason
  std::int64_t dlq_records = 0;
  read_all(c.brokers(), topic + ".dlq", [&](const rd_kafka_message_t& m) {
    ++dlq_records;
    std::string name = "?", reason;
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(&m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const void* v = nullptr;
      size_t n = 0;
      if (rd_kafka_header_get_last(hdrs, std::string(hostile_header).c_str(), &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR)
        name.assign(static_cast<const char*>(v), n);
      if (rd_kafka_header_get_last(hdrs, std::string(kafka::dlt_headers::exception_message).c_str(), &v, &n) ==
          RD_KAFKA_RESP_ERR_NO_ERROR)
        reason.assign(static_cast<const char*>(v), n);
    }
    dead_lettered[name] = reason;
  });
  const auto committed = committed_offsets(c.brokers(), group, topic);
  const auto ends = end_offsets(c.brokers(), topic);

  // A hostile record that is neither dead-lettered nor handled must be counted: a tombstone under
  // stats().tombstones, an envelope of a type no route takes under stats().skipped.
  std::string dispositions;
  std::int64_t counted = 0;
  for (const auto& h : hostile) {
    std::string how;
    if (auto it = dead_lettered.find(h.name); it != dead_lettered.end()) {
      how = "dlq";
      f.expect(!it->second.empty(), h.name + " is in the DLQ without a reason");
    } else if (handled_hostile.contains(h.name)) {
      how = "handled";
    } else {
      how = h.name == "tombstone" ? "tombstone_skipped" : "unrouted_skipped";
      ++counted;
    }
    if (!dispositions.empty()) dispositions += ',';
    dispositions += h.name;
    dispositions += ':';
    dispositions += how;
  }
  f.expect(counted == static_cast<std::int64_t>(stats.tombstones + stats.skipped),
           std::to_string(counted) + " hostile records neither dead-lettered nor handled, but " +
               std::to_string(stats.tombstones) + " tombstones and " + std::to_string(stats.skipped) + " skipped counted");
  f.handled = static_cast<std::int64_t>(handled_good.size() + handled_hostile.size());
  f.dead_lettered = dlq_records;
  for (const auto& id : good_ids) f.lost += handled_good.contains(id) ? 0 : 1;
  f.note("good", goods);
  f.note("hostile", static_cast<std::int64_t>(hostile.size()));
  f.note("tombstones", static_cast<std::int64_t>(stats.tombstones));
  f.note("skipped", static_cast<std::int64_t>(stats.skipped));
  f.note("poison", static_cast<std::int64_t>(stats.poison));
  f.note("dispositions", dispositions);
  f.expect(f.lost == 0, std::to_string(f.lost) + " good envelopes not handled");
  f.expect(dead_lettered.size() == static_cast<std::size_t>(dlq_records) && !dead_lettered.contains("?"),
           "DLQ records that are not exactly one per hostile record");
  f.expect(running && healthy, std::string("consumer not alive and healthy at the end (running=") + (running ? "1" : "0") +
                                   " healthy=" + (healthy ? "1" : "0") + ")");
  f.expect(!run_ec, "async_run ended with " + run_ec.message());
  for (const auto& [p, end] : ends) {
    const auto it = committed.find(p);
    const std::int64_t at = it == committed.end() ? -1 : it->second;
    f.expect(at == end, topic + "[" + std::to_string(p) + "] committed at " + std::to_string(at) + ", its end is " +
                            std::to_string(end));
  }
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return f;
}

}  // namespace chaos
