#pragma once
// Safety events of the txova catalog (topic txova.safety.v1).

#include <txova/kafka/event.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/values.hpp>

#include <boost/describe/class.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka::events {

/// safety.emergency_triggered: Someone pressed the emergency button during a ride.
struct safety_emergency_triggered {
  static constexpr event_info info{"safety.emergency_triggered", "1.0", topics::safety, "incident_id", "ride_id"};

  ids::ride_id ride_id{};
  ids::user_id user_id{};
  kafka::location location{};
  std::string emergency_type{};
};
BOOST_DESCRIBE_STRUCT(safety_emergency_triggered, (), (ride_id, user_id, location, emergency_type))

/// safety.incident_reported: An incident was reported; severity: "low", "medium", "high" or "critical".
struct safety_incident_reported {
  static constexpr event_info info{"safety.incident_reported", "1.0", topics::safety, "incident_id", "ride_id"};

  ids::incident_id incident_id{};
  ids::user_id reporter_id{};
  std::optional<ids::ride_id> ride_id{};
  std::string severity{};
};
BOOST_DESCRIBE_STRUCT(safety_incident_reported, (), (incident_id, reporter_id, ride_id, severity))

/// safety.trip_shared: A rider shared a live trip with a phone number.
struct safety_trip_shared {
  static constexpr event_info info{"safety.trip_shared", "1.0", topics::safety, "incident_id", "ride_id"};

  ids::ride_id ride_id{};
  std::string shared_with_phone{};
};
BOOST_DESCRIBE_STRUCT(safety_trip_shared, (), (ride_id, shared_with_phone))

}  // namespace txova::kafka::events
