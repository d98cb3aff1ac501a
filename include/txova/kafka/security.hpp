#pragma once
// How a client proves who it is and checks whom it talks to: TLS, SASL (SCRAM, PLAIN), both,
// or neither. Shared by the producer, the consumer and the admin client, read from the same
// KAFKA_SECURITY_PROTOCOL / KAFKA_SASL_* / KAFKA_SSL_CA_LOCATION variables by all of them.
// See docs/configuration.md, "Security".
#include <txova/kafka/error.hpp>

#include <boost/system/result.hpp>

#include <map>
#include <string>

namespace txova::kafka {

/// Kafka's security.protocol: what the listener the client connects to speaks.
enum class security_protocol {
  plaintext,       ///< neither TLS nor SASL
  ssl,             ///< TLS (the broker's certificate checked against the CA)
  sasl_plaintext,  ///< SASL without TLS: the credentials travel unencrypted unless SCRAM is used
  sasl_ssl,        ///< SASL over TLS: the production setting
};

/// The security settings of one client. The password is held here for librdkafka and never
/// printed: describe(), the logs, exceptions and dead letters leave it out.
struct security_config {
  security_protocol protocol = security_protocol::plaintext;
  std::string sasl_mechanism{};   ///< SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (SASL protocols only)
  std::string sasl_username{};
  std::string sasl_password{};
  std::string ssl_ca_location{};  ///< PEM file of the CA that signed the brokers; empty: the system's CAs

  bool uses_sasl() const noexcept {
    return protocol == security_protocol::sasl_plaintext || protocol == security_protocol::sasl_ssl;
  }
  bool uses_tls() const noexcept { return protocol == security_protocol::ssl || protocol == security_protocol::sasl_ssl; }

  /// The first bad field, named with its value (never the password's); false when valid.
  diagnostic validate() const;

  /// Adds security.protocol, sasl.mechanisms, sasl.username, sasl.password and ssl.ca.location
  /// (those that apply) to `properties`.
  void add_rdkafka_properties(std::map<std::string, std::string>& properties) const;

  /// Reads KAFKA_SECURITY_PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, any case),
  /// KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SSL_CA_LOCATION over
  /// `base`; a malformed value names the variable.
  static boost::system::result<security_config, diagnostic> from_env(const std::map<std::string, std::string>& env,
                                                                     security_config base);
};

/// The name Kafka uses: "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL".
const char* to_string(security_protocol p) noexcept;

/// For logs: "SASL_SSL, SCRAM-SHA-512 as \"svc\", CA /etc/ca.pem"; never the password.
std::string describe(const security_config& config);

}  // namespace txova::kafka
