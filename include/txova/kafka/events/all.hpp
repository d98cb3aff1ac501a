#pragma once
// The whole txova catalog: every event payload type, and a type list of them.

#include <txova/kafka/events/driver.hpp>
#include <txova/kafka/events/payment.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/events/safety.hpp>
#include <txova/kafka/events/user.hpp>

#include <boost/mp11/list.hpp>

namespace txova::kafka::events {

/// Every txova event type, for code that visits the catalog (tests, admin, routing tables).
using all = boost::mp11::mp_list<
    user_registered,
    user_verified,
    user_profile_updated,
    user_suspended,
    user_deleted,
    driver_application_submitted,
    driver_documents_submitted,
    driver_approved,
    driver_rejected,
    driver_went_online,
    driver_went_offline,
    driver_location_updated,
    ride_requested,
    ride_driver_assigned,
    ride_driver_arrived,
    ride_started,
    ride_completed,
    ride_cancelled,
    ride_rated,
    payment_initiated,
    payment_completed,
    payment_failed,
    payment_refunded,
    payout_requested,
    payout_completed,
    safety_emergency_triggered,
    safety_incident_reported,
    safety_trip_shared>;

}  // namespace txova::kafka::events
