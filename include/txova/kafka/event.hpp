#pragma once
// What makes a struct an event: its type string, schema version, topic and partition key.

#include <txova/kafka/error.hpp>

#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <boost/system/result.hpp>

#include <concepts>
#include <optional>
#include <string>
#include <string_view>

namespace txova::kafka {

/// The catalog entry of one event type. Declared as `static constexpr event_info info{...}`
/// inside the payload struct, next to its BOOST_DESCRIBE_STRUCT.
struct event_info {
  std::string_view type{};              ///< "ride.completed": domain.action, lowercase and '_'
  std::string_view version{};           ///< schema version, "major.minor"
  std::string_view topic{};             ///< the topic the event is published to
  std::string_view key{};               ///< payload field whose value is the partition key
  std::string_view fallback_key = {}; ///< used when `key` is absent (safety events without an incident)
};

/// A payload type that names its catalog entry and whose members are described.
template <class T>
concept event = requires {
  { T::info } -> std::convertible_to<const event_info&>;
} && boost::describe::has_describe_members<T>::value;

namespace detail {
// The text of a partition-key member: a string, an id (anything with str()), or an optional of
// one (nullopt when empty or absent).
template <class T>
std::optional<std::string> key_text(const T& v) {
  if constexpr (requires { v.has_value(); *v; }) {
    return v ? key_text(*v) : std::nullopt;
  } else if constexpr (requires { { v.str() } -> std::convertible_to<std::string>; }) {
    return v.str().empty() ? std::nullopt : std::optional<std::string>(v.str());
  } else if constexpr (std::is_convertible_v<const T&, std::string>) {
    const std::string s = v;
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
  } else {
    return std::nullopt;  // not a key type: reported as a missing key
  }
}
}  // namespace detail

/// The partition key of a typed event: its `info.key` member (or `info.fallback_key` when that
/// one is empty), read from the struct itself (no JSON in between). Errors as partition_key().
template <event Event>
boost::system::result<std::string, diagnostic> event_key(const Event& ev) {
  for (std::string_view field : {Event::info.key, Event::info.fallback_key}) {
    if (field.empty()) continue;
    std::optional<std::string> found;
    boost::mp11::mp_for_each<boost::describe::describe_members<Event, boost::describe::mod_public>>([&](auto d) {
      if (!found && field == d.name) found = detail::key_text(ev.*d.pointer);
    });
    if (found) return std::move(*found);
  }
  std::string msg = "payload of \"" + std::string(Event::info.type) + "\" has no partition key: payload." +
                    std::string(Event::info.key) + " is empty or missing";
  if (!Event::info.fallback_key.empty()) msg += ", and so is payload." + std::string(Event::info.fallback_key);
  return make_diagnostic(error::no_partition_key, "payload." + std::string(Event::info.key), std::move(msg));
}

}  // namespace txova::kafka
