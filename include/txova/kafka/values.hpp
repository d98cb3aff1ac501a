#pragma once
// Value types for payload fields where a plain string or double would invite bugs.

#include <txova/kafka/codec.hpp>

#include <boost/describe/class.hpp>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace txova::kafka {

/// An identifier that cannot be mixed up with another kind of identifier: a ride_id is not a
/// user_id even though both are strings on the wire. Never empty once decoded.
template <class Tag>
class strong_id {
public:
  strong_id() = default;
  explicit strong_id(std::string value) : value_(std::move(value)) {}

  const std::string& str() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }
  friend auto operator<=>(const strong_id&, const strong_id&) = default;

  std::string validate() const { return value_.empty() ? "must not be empty" : std::string(); }

private:
  std::string value_;
};

template <class Tag>
struct json_codec<strong_id<Tag>> {
  static void write(std::string& out, const strong_id<Tag>& v) { detail::append_quoted(out, v.str()); }
  static bool read(const boost::json::value& in, strong_id<Tag>& v, decode_state& st) {
    std::string s;
    if (!json_codec<std::string>::read(in, s, st)) return false;
    v = strong_id<Tag>(std::move(s));
    return true;
  }
};

/// The identifiers of the txova catalog.
namespace ids {
using user_id = strong_id<struct user_tag>;
using driver_id = strong_id<struct driver_tag>;
using vehicle_id = strong_id<struct vehicle_tag>;
using ride_id = strong_id<struct ride_tag>;
using payment_id = strong_id<struct payment_tag>;
using payout_id = strong_id<struct payout_tag>;
using incident_id = strong_id<struct incident_tag>;
}  // namespace ids

/// A WGS 84 position, `{"lat": -25.9692, "lon": 32.5732}`; decoding rejects values out of range.
struct location {
  double lat = 0;
  double lon = 0;

  /// Empty when valid, else why not (latitude within [-90, 90], longitude within [-180, 180]).
  std::string validate() const;
  friend bool operator==(const location&, const location&) = default;
};
BOOST_DESCRIBE_STRUCT(location, (), (lat, lon))

/// An amount of money in integer minor units (centavos for MZN) and an ISO 4217 currency code,
/// `{"amount": 35000, "currency": "MZN"}` is 350.00 MZN. Never a binary float.
struct money {
  std::int64_t amount = 0;
  std::string currency{};

  static money minor(std::int64_t amount, std::string currency) { return {amount, std::move(currency)}; }
  /// Empty when valid, else why not (currency must be three uppercase letters).
  std::string validate() const;
  friend bool operator==(const money&, const money&) = default;
};
BOOST_DESCRIBE_STRUCT(money, (), (amount, currency))

}  // namespace txova::kafka
