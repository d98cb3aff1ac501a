#pragma once
// User events of the txova catalog.

#include <txova/kafka/event.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/values.hpp>

#include <boost/describe/class.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka::events {

/// user.registered: A new account. user_type: "rider" or "driver".
struct user_registered {
  static constexpr event_info info{"user.registered", "1.0", topics::users, "user_id"};

  ids::user_id user_id{};
  std::string phone{};
  std::string user_type{};
};
BOOST_DESCRIBE_STRUCT(user_registered, (), (user_id, phone, user_type))

/// user.verified: An account proved a phone, e-mail or identity document.
struct user_verified {
  static constexpr event_info info{"user.verified", "1.0", topics::users, "user_id"};

  ids::user_id user_id{};
  std::string verification_type{};
};
BOOST_DESCRIBE_STRUCT(user_verified, (), (user_id, verification_type))

/// user.profile_updated: Profile fields changed (their names, never their values).
struct user_profile_updated {
  static constexpr event_info info{"user.profile_updated", "1.0", topics::users, "user_id"};

  ids::user_id user_id{};
  std::vector<std::string> changed_fields{};
};
BOOST_DESCRIBE_STRUCT(user_profile_updated, (), (user_id, changed_fields))

/// user.suspended: An account was suspended by an admin or a rule.
struct user_suspended {
  static constexpr event_info info{"user.suspended", "1.0", topics::users, "user_id"};

  ids::user_id user_id{};
  std::string reason{};
  std::string suspended_by{};
};
BOOST_DESCRIBE_STRUCT(user_suspended, (), (user_id, reason, suspended_by))

/// user.deleted: An account was deleted. deletion_type: "soft" or "hard".
struct user_deleted {
  static constexpr event_info info{"user.deleted", "1.0", topics::users, "user_id"};

  ids::user_id user_id{};
  std::string deletion_type{};
};
BOOST_DESCRIBE_STRUCT(user_deleted, (), (user_id, deletion_type))

}  // namespace txova::kafka::events
