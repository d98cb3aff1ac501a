#include <txova/kafka/error.hpp>

#include <boost/throw_exception.hpp>

namespace txova::kafka {
namespace {

class category final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "txova.kafka"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::invalid_json: return "not valid JSON";
      case error::too_large: return "over the size limit";
      case error::too_deep: return "nested too deeply";
      case error::duplicate_key: return "duplicate JSON object key";
      case error::missing_field: return "required field missing";
      case error::wrong_type: return "field has the wrong type";
      case error::invalid_field: return "field has an invalid value";
      case error::unknown_event_type: return "unknown event type";
      case error::no_partition_key: return "no partition key";
      case error::invalid_config: return "invalid configuration";
      case error::not_sent: return "not sent: another envelope of the batch was invalid";
      case error::batch_incomplete: return "some envelopes of the batch were not delivered";
      case error::dead_letter_failed: return "not delivered, and the dead-letter topic could not be written either";
      case error::closed: return "the client is closed";
      case error::timed_out: return "the deadline passed before the operation finished";
      case error::queue_full: return "no room to take it now";
      case error::fatal: return "the client hit a fatal error and can do no more";
      case error::internal: return "an internal error of the library (see the log)";
      case error::authentication_failed: return "the brokers refused the SASL credentials";
      case error::tls_failed: return "the TLS handshake with the broker failed";
      case error::wrong_security_protocol: return "the broker's listener speaks another security protocol";
      case error::not_a_dead_letter: return "not a dead letter of txova, Spring Kafka or Kafka Connect";
    }
    return "txova.kafka error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

diagnostic make_diagnostic(error e, std::string field, std::string message) {
  return diagnostic{make_error_code(e), std::move(field), std::move(message)};
}

diagnostic_error::diagnostic_error(diagnostic d)
    : boost::system::system_error(d.code, d.message), detail_(std::move(d)) {}

void throw_exception_from_error(const diagnostic& d, const boost::source_location& loc) {
  boost::throw_exception(diagnostic_error(d), loc);
}

}  // namespace txova::kafka

