#pragma once
// Reading a topic whole with raw librdkafka (an independent reader, not the consumer under test).
#include <librdkafka/rdkafka.h>

#include <functional>
#include <string>

namespace chaos {
/// Calls `fn` for every record of every partition of `topic` from its start to its end as of
/// the call, in offset order per partition (throws when the end is not reached within 180 s).
void read_all(const std::string& brokers, const std::string& topic, const std::function<void(const rd_kafka_message_t&)>& fn);
}  // namespace chaos
