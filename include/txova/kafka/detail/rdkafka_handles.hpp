#pragma once
// Owning handles for librdkafka objects, and a conf builder that reports which property failed.

#include <txova/kafka/error.hpp>

#include <boost/system/result.hpp>
#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

namespace txova::kafka::detail {

struct kafka_deleter {
  void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* c) const noexcept { rd_kafka_conf_destroy(c); }
  void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_event_t* e) const noexcept { rd_kafka_event_destroy(e); }
  void operator()(rd_kafka_AdminOptions_t* o) const noexcept { rd_kafka_AdminOptions_destroy(o); }
  void operator()(rd_kafka_NewTopic_t* t) const noexcept { rd_kafka_NewTopic_destroy(t); }
  void operator()(rd_kafka_DeleteTopic_t* t) const noexcept { rd_kafka_DeleteTopic_destroy(t); }
  void operator()(rd_kafka_ConfigResource_t* r) const noexcept { rd_kafka_ConfigResource_destroy(r); }
  void operator()(rd_kafka_topic_partition_list_t* l) const noexcept { rd_kafka_topic_partition_list_destroy(l); }
  void operator()(rd_kafka_message_t* m) const noexcept { rd_kafka_message_destroy(m); }
  void operator()(const rd_kafka_metadata_t* m) const noexcept { rd_kafka_metadata_destroy(m); }
};

using kafka_handle = std::unique_ptr<rd_kafka_t, kafka_deleter>;
using conf_handle = std::unique_ptr<rd_kafka_conf_t, kafka_deleter>;
using queue_handle = std::unique_ptr<rd_kafka_queue_t, kafka_deleter>;
using event_handle = std::unique_ptr<rd_kafka_event_t, kafka_deleter>;
using admin_options_handle = std::unique_ptr<rd_kafka_AdminOptions_t, kafka_deleter>;
using message_handle = std::unique_ptr<rd_kafka_message_t, kafka_deleter>;
using partition_list_handle = std::unique_ptr<rd_kafka_topic_partition_list_t, kafka_deleter>;

/// A librdkafka configuration from properties; an unknown property or bad value is
/// error::invalid_config naming the property and librdkafka's reason. Values of properties
/// whose name suggests a secret are never echoed.
boost::system::result<conf_handle, diagnostic> make_conf(const std::map<std::string, std::string>& properties);

/// True for property names whose values must not be logged ("sasl.password", "ssl.key.password", ...).
bool is_secret_property(std::string_view name) noexcept;

/// Creates a client of `type` from `conf` (ownership passes to librdkafka on success).
boost::system::result<kafka_handle, diagnostic> make_client(rd_kafka_type_t type, conf_handle conf);

}  // namespace txova::kafka::detail
