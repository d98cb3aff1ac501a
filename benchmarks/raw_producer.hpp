#pragma once
// Raw librdkafka as most raw users call it (rd_kafka_producev, the same six headers our producer
// writes, delivery reports through the poll callback): the baseline of txova-bench's producer
// section.
#include "bench_common.hpp"

#include <txova/kafka/config.hpp>
#include <txova/kafka/envelope.hpp>

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace txova::kafka::bench {

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

}  // namespace txova::kafka::bench
