#pragma once
// Plain librdkafka producer and consumer for tests: they check the brokers (real and embedded)
// independently of the library's own producer and consumer. Blocking calls, test-only. Also the
// helpers every integration suite shares (topics, golden envelopes, headers).

#include <txova/kafka/admin.hpp>
#include <txova/kafka/detail/rdkafka_handles.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txova::kafka::test {

struct record {
  std::string key{};
  std::string value{};
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::vector<std::pair<std::string, std::string>> headers{};
  bool tombstone = false;  ///< produce a null value (value is ignored); read: the value was null
};

/// The brokers of the integration suite: TXOVA_KAFKA_BROKERS, set by the CTest fixture.
std::string real_brokers();
/// A topic name no other test uses.
std::string unique_topic(std::string_view prefix);

struct produce_result {
  std::vector<int> errors{};  ///< one rd_kafka_resp_err_t per message, in send order
  std::vector<std::int32_t> partitions{};
  std::chrono::milliseconds elapsed{};
};

/// Produces `records` (key, value, headers; partition -1 = by key) and waits for every delivery
/// report, at most `timeout`.
produce_result produce(const std::map<std::string, std::string>& properties, const std::string& topic,
                       const std::vector<record>& records, std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Reads partitions [0, partitions) from the beginning until `count` records arrived or `timeout`.
std::vector<record> consume(const std::map<std::string, std::string>& properties, const std::string& topic,
                            int partitions, std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace txova::kafka::test

namespace txova::kafka::test {

/// The offsets group `group` has committed for partitions [0, partitions) of `topic` (-1001 when
/// none), asked of the broker directly.
std::vector<std::int64_t> committed_offsets(const std::string& brokers, const std::string& group, const std::string& topic,
                                            int partitions);
/// The high watermark of partitions [0, partitions) of `topic`.
std::vector<std::int64_t> end_offsets(const std::string& brokers, const std::string& topic, int partitions);

/// Creates each (name, partitions) topic on the real broker (one replica, 1 h retention) with
/// the library's admin client; the test stops unless all were created.
void create_topics(const std::vector<std::pair<std::string, int>>& topics);
/// The same with every setting of each topic given.
void create_topic_specs(std::vector<topic_spec> specs);

/// The text of every golden envelope in tests/data/envelopes, and of the one of `type`.
std::vector<std::string> golden_envelope_texts();
std::string golden_envelope_text(std::string_view type);

/// The first value of header `name` of `r`, or "<absent>".
std::string header(const record& r, std::string_view name);

}  // namespace txova::kafka::test
