#include "plain_client.hpp"

#include <txova/kafka/admin.hpp>
#include <txova/kafka/envelope.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace txova::kafka::test {

std::string real_brokers() {
  const char* b = std::getenv("TXOVA_KAFKA_BROKERS");
  BOOST_TEST_REQUIRE((b && *b), "TXOVA_KAFKA_BROKERS is not set: run through ctest (the kafka_broker fixture) "
                                "or export the address that scripts/kafka-broker start printed");
  return b;
}

std::string unique_topic(std::string_view prefix) {
  return "txova-test-" + std::string(prefix) + "-" + new_uuid().substr(0, 8);
}

namespace {
struct delivery_state {
  std::vector<int>* errors;
  std::vector<std::int32_t>* partitions;
  int pending = 0;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<delivery_state*>(opaque);
  const auto index = reinterpret_cast<std::uintptr_t>(m->_private);
  (*st->errors)[index] = m->err;
  (*st->partitions)[index] = m->partition;
  --st->pending;
}
}  // namespace

produce_result produce(const std::map<std::string, std::string>& properties, const std::string& topic,
                       const std::vector<record>& records, std::chrono::milliseconds timeout) {
  produce_result out;
  out.errors.assign(records.size(), -1);
  out.partitions.assign(records.size(), -1);
  delivery_state st{&out.errors, &out.partitions, 0};
  auto conf = detail::make_conf(properties);
  BOOST_TEST_REQUIRE(conf.has_value(), (conf ? "" : conf.error().message));
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery);
  rd_kafka_conf_set_opaque(conf->get(), &st);
  auto rk = detail::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  BOOST_TEST_REQUIRE(rk.has_value());
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const record& r = records[i];
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size());
    for (const auto& [k, v] : r.headers) rd_kafka_header_add(hdrs, k.data(), k.size(), v.data(), v.size());
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_producev(rk->get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(r.partition),
                              RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
                              RD_KAFKA_V_VALUE(r.tombstone ? nullptr : const_cast<char*>(r.value.data()),
                                               r.tombstone ? 0 : r.value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                              RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(i)), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(rk->get(), 10);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (err) {
      rd_kafka_headers_destroy(hdrs);
      out.errors[i] = err;
    } else {
      ++st.pending;
    }
  }
  const auto deadline = start + timeout;
  while (st.pending > 0 && std::chrono::steady_clock::now() < deadline) rd_kafka_poll(rk->get(), 50);
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  rd_kafka_purge(rk->get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk->get(), 0);
  return out;
}

std::vector<record> consume(const std::map<std::string, std::string>& properties, const std::string& topic,
                            int partitions, std::size_t count, std::chrono::milliseconds timeout) {
  auto props = properties;
  props.emplace("group.id", "txova-test-reader-" + new_uuid().substr(0, 8));
  props.emplace("enable.auto.commit", "false");
  props.emplace("enable.partition.eof", "false");
  auto conf = detail::make_conf(props);
  BOOST_TEST_REQUIRE(conf.has_value(), (conf ? "" : conf.error().message));
  auto rk = detail::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  BOOST_TEST_REQUIRE(rk.has_value());
  detail::partition_list_handle list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  BOOST_TEST_REQUIRE(rd_kafka_assign(rk->get(), list.get()) == RD_KAFKA_RESP_ERR_NO_ERROR);

  std::vector<record> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    detail::message_handle m(rd_kafka_consumer_poll(rk->get(), 100));
    if (!m) continue;
    BOOST_TEST_REQUIRE(m->err == RD_KAFKA_RESP_ERR_NO_ERROR, "consume error: " << rd_kafka_message_errstr(m.get()));
    record r;
    if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
    r.tombstone = m->payload == nullptr;
    r.partition = m->partition;
    r.offset = m->offset;
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      for (std::size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
        r.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
    }
    out.push_back(std::move(r));
  }
  rd_kafka_consumer_close(rk->get());
  return out;
}

}  // namespace txova::kafka::test

namespace txova::kafka::test {

std::vector<std::int64_t> committed_offsets(const std::string& brokers, const std::string& group, const std::string& topic,
                                            int partitions) {
  auto conf = detail::make_conf({{"bootstrap.servers", brokers}, {"group.id", group}});
  BOOST_TEST_REQUIRE(conf.has_value());
  auto rk = detail::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  BOOST_TEST_REQUIRE(rk.has_value());
  detail::partition_list_handle l(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(l.get(), topic.c_str(), p);
  const rd_kafka_resp_err_t err = rd_kafka_committed(rk->get(), l.get(), 15000);
  BOOST_TEST_REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_err2str(err));
  std::vector<std::int64_t> out(static_cast<std::size_t>(partitions), -1001);
  for (int i = 0; i < l->cnt; ++i) out[static_cast<std::size_t>(l->elems[i].partition)] = l->elems[i].offset;
  rd_kafka_consumer_close(rk->get());
  return out;
}

std::vector<std::int64_t> end_offsets(const std::string& brokers, const std::string& topic, int partitions) {
  auto conf = detail::make_conf({{"bootstrap.servers", brokers}});
  BOOST_TEST_REQUIRE(conf.has_value());
  auto rk = detail::make_client(RD_KAFKA_CONSUMER, std::move(*conf));
  BOOST_TEST_REQUIRE(rk.has_value());
  std::vector<std::int64_t> out;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t lo = -1, hi = -1;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), p, &lo, &hi, 15000);
    BOOST_TEST_REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_err2str(err));
    out.push_back(hi);
  }
  return out;
}

}  // namespace txova::kafka::test

namespace txova::kafka::test {

void create_topics(const std::vector<std::pair<std::string, int>>& topics) {
  std::vector<topic_spec> specs;
  for (const auto& [name, partitions] : topics) specs.push_back(topic_spec{name, partitions, 1, std::chrono::hours(1), {}});
  create_topic_specs(std::move(specs));
}

void create_topic_specs(std::vector<topic_spec> specs) {
  boost::asio::io_context ioc;
  admin a(ioc.get_executor(), admin_config{.brokers = real_brokers()});
  const std::size_t n = specs.size();
  auto fut = a.async_create_topics(std::move(specs), boost::asio::use_future);
  ioc.run();
  auto out = fut.get();
  BOOST_TEST_REQUIRE(out.size() == n);
  for (const auto& o : out) BOOST_TEST_REQUIRE(!o.ec, o.message);
}

namespace {
const std::filesystem::path golden_dir = std::filesystem::path(TXOVA_TEST_DATA_DIR) / "envelopes";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

std::vector<std::string> golden_envelope_texts() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(golden_dir)) out.push_back(read_file(e.path()));
  return out;
}

std::string golden_envelope_text(std::string_view type) {
  std::string text = read_file(golden_dir / (std::string(type) + ".json"));
  BOOST_TEST_REQUIRE(!text.empty(), "tests/data/envelopes has " << type);
  return text;
}

std::string header(const record& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

}  // namespace txova::kafka::test
