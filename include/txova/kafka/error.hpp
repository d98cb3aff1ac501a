#pragma once
// Errors of txova-kafka: an error_code category for programs, and `diagnostic` for people.

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <system_error>

namespace txova::kafka {

/// Library error codes, in the `txova.kafka` category.
enum class error {
  invalid_json = 1,    ///< not JSON, or not valid UTF-8
  too_large,           ///< over a configured size limit
  too_deep,            ///< nested deeper than the parser allows
  duplicate_key,       ///< a JSON object names the same key twice
  missing_field,       ///< a required field is absent
  wrong_type,          ///< a field has the wrong JSON type
  invalid_field,       ///< a field has the right type but a bad value
  unknown_event_type,  ///< no catalog entry or topic mapping for an event type
  no_partition_key,    ///< the payload lacks the field its topic is keyed by
  invalid_config,      ///< a configuration value is out of range or malformed
  not_sent,            ///< not sent because another envelope of its batch was invalid
  batch_incomplete,    ///< some envelopes of a batch were not delivered (see the per-envelope results)
  dead_letter_failed,  ///< neither delivered nor written to the dead-letter topic
  closed,              ///< the client is closed (or closing) and takes no new work
  timed_out,           ///< a deadline passed before the operation could finish
  queue_full,          ///< no room to take the work now, and it may not wait (publish_detached)
  fatal,               ///< the client hit a fatal error (librdkafka's fatal state) and can do no more
  internal,            ///< the library caught an unexpected failure of its own (logged with details)
  authentication_failed,    ///< the brokers refused the SASL credentials (the message names mechanism and user)
  tls_failed,               ///< the TLS handshake failed (the message has the TLS reason: certificate, CA, version)
  wrong_security_protocol,  ///< the listener speaks another security.protocol than the client
  not_a_dead_letter,        ///< a record read from a DLQ that no known DLQ writer (txova, Spring, Connect) made
};

/// The category of `error`; its name is "txova.kafka".
const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// An error code plus what was wrong, where, and with what value:
/// `code` for programs, `field` (a JSON path such as "payload.fare.amount") and `message`
/// (a whole sentence, e.g. `version "1" is not major.minor`) for logs and DLQ records.
/// Converts to true when it describes a failure, so `if (auto d = validate(e))` reads naturally.
struct diagnostic {
  boost::system::error_code code{};
  std::string field{};
  std::string message{};

  explicit operator bool() const noexcept { return code.failed(); }
};

/// Builds a diagnostic; `message` should already name the field and the bad value.
diagnostic make_diagnostic(error e, std::string field, std::string message);

/// Thrown where Asio's model throws (awaitables) or by `result<T, diagnostic>::value()`.
class diagnostic_error : public boost::system::system_error {
public:
  explicit diagnostic_error(diagnostic d);
  const diagnostic& detail() const noexcept { return detail_; }

private:
  diagnostic detail_;
};

/// Lets `boost::system::result<T, diagnostic>::value()` throw a `diagnostic_error`.
[[noreturn]] void throw_exception_from_error(const diagnostic& d, const boost::source_location& loc);

}  // namespace txova::kafka

template <>
struct boost::system::is_error_code_enum<txova::kafka::error> : std::true_type {};
