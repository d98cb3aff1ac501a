#pragma once
// Ride events of the txova catalog.

#include <txova/kafka/event.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/values.hpp>

#include <boost/describe/class.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka::events {

/// ride.requested: A rider asked for a ride.
struct ride_requested {
  static constexpr event_info info{"ride.requested", "1.0", topics::rides, "ride_id"};

  ids::ride_id ride_id{};
  ids::user_id rider_id{};
  kafka::location pickup{};
  kafka::location dropoff{};
  std::string service_type{};
};
BOOST_DESCRIBE_STRUCT(ride_requested, (), (ride_id, rider_id, pickup, dropoff, service_type))

/// ride.driver_assigned: A driver was matched to a ride.
struct ride_driver_assigned {
  static constexpr event_info info{"ride.driver_assigned", "1.0", topics::rides, "ride_id"};

  ids::ride_id ride_id{};
  ids::driver_id driver_id{};
  ids::vehicle_id vehicle_id{};
  std::int32_t eta_minutes{};

  std::string validate() const;
};
BOOST_DESCRIBE_STRUCT(ride_driver_assigned, (), (ride_id, driver_id, vehicle_id, eta_minutes))

/// ride.driver_arrived: The driver reached the pickup point.
struct ride_driver_arrived {
  static constexpr event_info info{"ride.driver_arrived", "1.0", topics::rides, "ride_id"};

  ids::ride_id ride_id{};
  timestamp arrival_time{};
};
BOOST_DESCRIBE_STRUCT(ride_driver_arrived, (), (ride_id, arrival_time))

/// ride.started: The rider is on board.
struct ride_started {
  static constexpr event_info info{"ride.started", "1.0", topics::rides, "ride_id"};

  ids::ride_id ride_id{};
  timestamp start_time{};
  kafka::location start_location{};
};
BOOST_DESCRIBE_STRUCT(ride_started, (), (ride_id, start_time, start_location))

/// ride.completed: The ride ended at the destination.
struct ride_completed {
  static constexpr event_info info{"ride.completed", "1.0", topics::rides, "ride_id"};

  ids::ride_id ride_id{};
  timestamp end_time{};
  double distance_km{};
  std::int32_t duration_mins{};
  money fare{};

  std::string validate() const;
};
BOOST_DESCRIBE_STRUCT(ride_completed, (), (ride_id, end_time, distance_km, duration_mins, fare))

/// ride.cancelled: The ride was cancelled. cancelled_by: "rider", "driver" or "system".
struct ride_cancelled {
  static constexpr event_info info{"ride.cancelled", "1.0", topics::rides, "ride_id"};

  ids::ride_id ride_id{};
  std::string cancelled_by{};
  std::string reason{};
  money cancellation_fee{};
};
BOOST_DESCRIBE_STRUCT(ride_cancelled, (), (ride_id, cancelled_by, reason, cancellation_fee))

/// ride.rated: A ride was rated 1 to 5, with an optional review.
struct ride_rated {
  static constexpr event_info info{"ride.rated", "1.0", topics::rides, "ride_id"};

  ids::ride_id ride_id{};
  std::int32_t rating{};
  std::string rated_by{};
  std::optional<std::string> review{};

  std::string validate() const;
};
BOOST_DESCRIBE_STRUCT(ride_rated, (), (ride_id, rating, rated_by, review))

}  // namespace txova::kafka::events
