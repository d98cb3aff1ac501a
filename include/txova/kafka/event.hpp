#pragma once
// What makes a struct an event: its type string, schema version, topic and partition key.

#include <boost/describe/members.hpp>

#include <concepts>
#include <string_view>

namespace txova::kafka {

/// The catalog entry of one event type. Declared as `static constexpr event_info info{...}`
/// inside the payload struct, next to its BOOST_DESCRIBE_STRUCT.
struct event_info {
  std::string_view type;              ///< "ride.completed": domain.action, lowercase and '_'
  std::string_view version;           ///< schema version, "major.minor"
  std::string_view topic;             ///< the topic the event is published to
  std::string_view key;               ///< payload field whose value is the partition key
  std::string_view fallback_key = {}; ///< used when `key` is absent (safety events without an incident)
};

/// A payload type that names its catalog entry and whose members are described.
template <class T>
concept event = requires {
  { T::info } -> std::convertible_to<const event_info&>;
} && boost::describe::has_describe_members<T>::value;

}  // namespace txova::kafka
