#pragma once
// The outcome of one publish.
#include <txova/kafka/timestamp.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>

namespace txova::kafka {

/// The outcome of one publish. On success: where the broker stored the event.
struct delivery {
  std::string topic{};
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  timestamp broker_time{};        ///< the record's timestamp as stored by the broker
  int attempts = 0;               ///< sends it took (0: never sent)
  std::string dead_letter_topic{};  ///< set when the event was written to its DLQ instead
  std::string error_message{};      ///< on failure: what went wrong, with the values involved
  std::string event_id{};           ///< the envelope's id (the event-id header of a raw record)
};

/// One publish's outcome: in a batch's results, and what producer middleware return.
struct publish_result {
  boost::system::error_code ec{};
  delivery result{};
};

}  // namespace txova::kafka
