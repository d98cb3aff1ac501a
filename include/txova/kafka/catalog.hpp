#pragma once
// A catalog: the set of event types a service knows, looked up by type string at run time.

#include <txova/kafka/event.hpp>

#include <string_view>
#include <vector>

namespace txova::kafka {

/// Event types by name. Build one from payload structs with `catalog::of<A, B, C>()`; the txova
/// catalog is `txova_catalog()`. Lookups are by exact type string.
class catalog {
public:
  catalog() = default;

  template <event... Events>
  static catalog of() {
    catalog c;
    (c.add(Events::info), ...);
    return c;
  }

  /// Adds an entry; a second entry for the same type replaces the first.
  void add(const event_info& info);
  /// The entry for `type`, or nullptr.
  const event_info* find(std::string_view type) const noexcept;
  const std::vector<event_info>& entries() const noexcept { return entries_; }

private:
  std::vector<event_info> entries_;
};

/// The txova catalog: every user, driver, ride, payment, payout and safety event.
const catalog& txova_catalog();

}  // namespace txova::kafka
