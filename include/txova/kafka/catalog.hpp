#pragma once
// A catalog: the set of event types a service knows, looked up by type string at run time.

#include <txova/kafka/codec.hpp>
#include <txova/kafka/event.hpp>

#include <string_view>
#include <vector>

namespace txova::kafka {

/// Checks a parsed payload by the rules of its typed struct (decoding it, as a typed consumer
/// route does); converts to false when it passes.
using payload_check = diagnostic (*)(const boost::json::value& payload);

/// Event types by name. Build one from payload structs with `catalog::of<A, B, C>()`; the txova
/// catalog is `txova_catalog()`. Lookups are by exact type string. An entry added from its struct
/// also carries the struct's rules, so an envelope of that type is checked the same way whether
/// it is published or consumed.
class catalog {
public:
  catalog() = default;

  template <event... Events>
  static catalog of() {
    catalog c;
    (c.add<Events>(), ...);
    return c;
  }

  /// Adds `Event`'s entry and its payload rules; a second entry for a type replaces the first.
  template <event Event>
  void add() {
    add(Event::info, [](const boost::json::value& payload) -> diagnostic {
      auto decoded = from_json_value<Event>(payload, "payload");
      return decoded ? diagnostic{} : decoded.error();
    });
  }
  /// Adds an entry without payload rules (or with `check`).
  void add(const event_info& info, payload_check check = nullptr);
  /// The entry for `type`, or nullptr.
  const event_info* find(std::string_view type) const noexcept;
  /// The payload rules of `type`, or nullptr when it has none.
  payload_check checker(std::string_view type) const noexcept;
  const std::vector<event_info>& entries() const noexcept { return entries_; }

private:
  std::vector<event_info> entries_;
  std::vector<payload_check> checks_;  // parallel to entries_
};

/// The txova catalog: every user, driver, ride, payment, payout and safety event.
const catalog& txova_catalog();

}  // namespace txova::kafka
