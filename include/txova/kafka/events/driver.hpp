#pragma once
// Driver events of the txova catalog.

#include <txova/kafka/event.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/values.hpp>

#include <boost/describe/class.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka::events {

/// driver.application_submitted: A user applied to drive.
struct driver_application_submitted {
  static constexpr event_info info{"driver.application_submitted", "1.0", topics::drivers, "driver_id"};

  ids::driver_id driver_id{};
  ids::user_id user_id{};
};
BOOST_DESCRIBE_STRUCT(driver_application_submitted, (), (driver_id, user_id))

/// driver.documents_submitted: A driver uploaded documents for review.
struct driver_documents_submitted {
  static constexpr event_info info{"driver.documents_submitted", "1.0", topics::drivers, "driver_id"};

  ids::driver_id driver_id{};
  std::vector<std::string> document_types{};
};
BOOST_DESCRIBE_STRUCT(driver_documents_submitted, (), (driver_id, document_types))

/// driver.approved: A driver application was approved.
struct driver_approved {
  static constexpr event_info info{"driver.approved", "1.0", topics::drivers, "driver_id"};

  ids::driver_id driver_id{};
  std::string approved_by{};
};
BOOST_DESCRIBE_STRUCT(driver_approved, (), (driver_id, approved_by))

/// driver.rejected: A driver application was rejected.
struct driver_rejected {
  static constexpr event_info info{"driver.rejected", "1.0", topics::drivers, "driver_id"};

  ids::driver_id driver_id{};
  std::string reason{};
  std::string rejected_by{};
};
BOOST_DESCRIBE_STRUCT(driver_rejected, (), (driver_id, reason, rejected_by))

/// driver.went_online: A driver started accepting rides.
struct driver_went_online {
  static constexpr event_info info{"driver.went_online", "1.0", topics::drivers, "driver_id"};

  ids::driver_id driver_id{};
  kafka::location location{};
  ids::vehicle_id vehicle_id{};
};
BOOST_DESCRIBE_STRUCT(driver_went_online, (), (driver_id, location, vehicle_id))

/// driver.went_offline: A driver stopped accepting rides.
struct driver_went_offline {
  static constexpr event_info info{"driver.went_offline", "1.0", topics::drivers, "driver_id"};

  ids::driver_id driver_id{};
  std::string reason{};
};
BOOST_DESCRIBE_STRUCT(driver_went_offline, (), (driver_id, reason))

/// driver.location_updated: A driver's position; heading in degrees [0, 360), speed in km/h. Published to txova.locations.v1.
struct driver_location_updated {
  static constexpr event_info info{"driver.location_updated", "1.0", topics::locations, "driver_id"};

  ids::driver_id driver_id{};
  kafka::location location{};
  double heading{};
  double speed{};

  std::string validate() const;
};
BOOST_DESCRIBE_STRUCT(driver_location_updated, (), (driver_id, location, heading, speed))

}  // namespace txova::kafka::events
