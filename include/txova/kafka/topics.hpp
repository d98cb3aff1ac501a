#pragma once
// Topics of the txova catalog, the event-type-to-topic mapping, DLQ names and partition keys.

#include <txova/kafka/catalog.hpp>
#include <txova/kafka/error.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace txova::kafka {

struct envelope;

namespace topics {
inline constexpr std::string_view users = "txova.users.v1";          ///< keyed by user_id
inline constexpr std::string_view drivers = "txova.drivers.v1";      ///< keyed by driver_id
inline constexpr std::string_view rides = "txova.rides.v1";          ///< keyed by ride_id
inline constexpr std::string_view payments = "txova.payments.v1";    ///< payment_id; payouts by payout_id
inline constexpr std::string_view safety = "txova.safety.v1";        ///< incident_id, else ride_id
inline constexpr std::string_view locations = "txova.locations.v1";  ///< driver_id (driver.location_updated)

/// Every txova topic, in a stable order (admin helpers create these and their DLQs).
inline constexpr std::string_view all[] = {users, drivers, rides, payments, safety, locations};

inline constexpr std::string_view dlq_suffix = ".dlq";
/// Production defaults the admin helpers apply when they create topics.
inline constexpr std::chrono::hours retention{7 * 24};
inline constexpr int replication_factor = 3;
inline constexpr int partitions = 12;
}  // namespace topics

/// The dead-letter topic of `topic`: "<topic>.dlq".
std::string dlq_topic(std::string_view topic);

/// The topic of `type` in the txova catalog, or nullopt for a type it does not have.
std::optional<std::string_view> topic_for(std::string_view type);

/// Maps event types to topics: a catalog's topics first overridden per type, then an optional
/// default topic for types nobody mapped.
class topic_map {
public:
  explicit topic_map(const catalog& c = txova_catalog()) : catalog_(&c) {}

  /// Sends `type` to `topic` instead of its catalog topic.
  topic_map& route(std::string_view type, std::string_view topic);
  /// Where unknown types go; without one, they are an error.
  topic_map& default_topic(std::string_view topic);

  /// The topic for `type`, or error::unknown_event_type naming it.
  boost::system::result<std::string, diagnostic> resolve(std::string_view type) const;
  /// The same as a view into this map or its catalog: valid while both live and the map is not
  /// changed (the producer copies it into a buffer it reuses, so a publish allocates no topic).
  boost::system::result<std::string_view, diagnostic> resolve_view(std::string_view type) const;

private:
  const catalog* catalog_;
  std::map<std::string, std::string, std::less<>> overrides_;
  std::optional<std::string> default_;
};

/// The partition key of an envelope: the value of its event type's key field in the payload
/// (the fallback field when the key field is absent). Errors name the type and the missing
/// field; a type the catalog does not know is error::unknown_event_type.
boost::system::result<std::string, diagnostic> partition_key(const envelope& e,
                                                             const catalog& c = txova_catalog());

}  // namespace txova::kafka
