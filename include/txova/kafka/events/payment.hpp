#pragma once
// Payment and payout events of the txova catalog (topic txova.payments.v1).

#include <txova/kafka/event.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/values.hpp>

#include <boost/describe/class.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka::events {

/// payment.initiated: A payment for a ride started. method: e.g. "cash", "mpesa", "card".
struct payment_initiated {
  static constexpr event_info info{"payment.initiated", "1.0", topics::payments, "payment_id"};

  ids::payment_id payment_id{};
  ids::ride_id ride_id{};
  money amount{};
  std::string method{};
};
BOOST_DESCRIBE_STRUCT(payment_initiated, (), (payment_id, ride_id, amount, method))

/// payment.completed: The payment provider confirmed a payment.
struct payment_completed {
  static constexpr event_info info{"payment.completed", "1.0", topics::payments, "payment_id"};

  ids::payment_id payment_id{};
  std::string transaction_ref{};
};
BOOST_DESCRIBE_STRUCT(payment_completed, (), (payment_id, transaction_ref))

/// payment.failed: A payment failed at the provider.
struct payment_failed {
  static constexpr event_info info{"payment.failed", "1.0", topics::payments, "payment_id"};

  ids::payment_id payment_id{};
  std::string error_code{};
  std::string error_message{};
};
BOOST_DESCRIBE_STRUCT(payment_failed, (), (payment_id, error_code, error_message))

/// payment.refunded: A payment was refunded, wholly or in part.
struct payment_refunded {
  static constexpr event_info info{"payment.refunded", "1.0", topics::payments, "payment_id"};

  ids::payment_id payment_id{};
  money refund_amount{};
  std::string reason{};
};
BOOST_DESCRIBE_STRUCT(payment_refunded, (), (payment_id, refund_amount, reason))

/// payout.requested: A driver asked for their earnings.
struct payout_requested {
  static constexpr event_info info{"payout.requested", "1.0", topics::payments, "payout_id"};

  ids::payout_id payout_id{};
  ids::driver_id driver_id{};
  money amount{};
};
BOOST_DESCRIBE_STRUCT(payout_requested, (), (payout_id, driver_id, amount))

/// payout.completed: Earnings reached the driver.
struct payout_completed {
  static constexpr event_info info{"payout.completed", "1.0", topics::payments, "payout_id"};

  ids::payout_id payout_id{};
  std::string transaction_ref{};
};
BOOST_DESCRIBE_STRUCT(payout_completed, (), (payout_id, transaction_ref))

}  // namespace txova::kafka::events
