#pragma once
// Recognizes, among the errors librdkafka reports for a client, those that mean its security
// settings cannot work (a wrong password, CA or protocol), and says so with the mechanism and
// the user (never the password). librdkafka retries such connections in silence, and reports an
// identical error only once per 30 s, so the clients act on the first report.
#include <txova/kafka/error.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace txova::kafka::detail {

/// Who the client says it is, from its effective librdkafka properties.
struct client_identity {
  std::string protocol;   ///< security.protocol as configured ("plaintext" when unset)
  std::string mechanism;  ///< sasl.mechanisms
  std::string username;   ///< sasl.username
  std::string ca;         ///< ssl.ca.location
  static client_identity of(const std::map<std::string, std::string>& properties);
};

/// The diagnostic (error::authentication_failed, tls_failed or wrong_security_protocol) when
/// librdkafka's client error `rdkafka_err` with `text` is one of those; nullopt otherwise.
std::optional<diagnostic> security_failure(int rdkafka_err, std::string_view text, const client_identity& who);

/// True when `ec` means the brokers refuse this client for good, so that waiting is pointless:
/// refused credentials and failed TLS always; a protocol mismatch only while the client has never
/// worked (`has_worked`: a delivery, an assignment). A listener that has served this client speaks
/// its protocol, and librdkafka's mismatch hint (a disconnect during ApiVersion) then comes from a
/// broker that is restarting.
bool refuses_for_good(const boost::system::error_code& ec, bool has_worked) noexcept;

/// How long after a security failure new work fails at once: librdkafka repeats an identical
/// connection error only after 30 s, so within that window it would wait in silence.
inline constexpr std::chrono::seconds security_failure_window{30};

}  // namespace txova::kafka::detail
