#include <txova/kafka/detail/security_failure.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/security.hpp>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cctype>

namespace txova::kafka {
namespace {

diagnostic bad(std::string field, std::string message) {
  return make_diagnostic(error::invalid_config, std::move(field), std::move(message));
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

constexpr std::string_view mechanisms[] = {"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"};

bool known_mechanism(std::string_view m) { return std::find(std::begin(mechanisms), std::end(mechanisms), m) != std::end(mechanisms); }

}  // namespace

const char* to_string(security_protocol p) noexcept {
  switch (p) {
    case security_protocol::plaintext: return "PLAINTEXT";
    case security_protocol::ssl: return "SSL";
    case security_protocol::sasl_plaintext: return "SASL_PLAINTEXT";
    case security_protocol::sasl_ssl: return "SASL_SSL";
  }
  return "PLAINTEXT";
}

diagnostic security_config::validate() const {
  if (!uses_sasl()) {
    if (!sasl_mechanism.empty() || !sasl_username.empty() || !sasl_password.empty())
      return bad("security.protocol", std::string("SASL settings are given but security.protocol is ") + to_string(protocol) +
                                          ": use SASL_SSL (or SASL_PLAINTEXT) for them to apply");
  } else {
    if (sasl_mechanism.empty())
      return bad("security.sasl_mechanism", std::string("security.protocol ") + to_string(protocol) +
                                                " needs sasl_mechanism (KAFKA_SASL_MECHANISM): SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN");
    if (!known_mechanism(sasl_mechanism))
      return bad("security.sasl_mechanism", "sasl_mechanism \"" + sasl_mechanism +
                                                "\" is not one of SCRAM-SHA-256, SCRAM-SHA-512, PLAIN (others: set sasl.* in properties)");
    if (sasl_username.empty())
      return bad("security.sasl_username", "SASL " + sasl_mechanism + " needs sasl_username (KAFKA_SASL_USERNAME)");
    if (sasl_password.empty())
      return bad("security.sasl_password", "SASL " + sasl_mechanism + " for user \"" + sasl_username +
                                               "\" needs sasl_password (KAFKA_SASL_PASSWORD)");
  }
  if (!ssl_ca_location.empty() && !uses_tls())
    return bad("security.ssl_ca_location", "ssl_ca_location \"" + ssl_ca_location + "\" is given but security.protocol is " +
                                               to_string(protocol) + ": use SSL or SASL_SSL for TLS");
  return {};
}

void security_config::add_rdkafka_properties(std::map<std::string, std::string>& p) const {
  p["security.protocol"] = lower(to_string(protocol));
  if (uses_sasl()) {
    p["sasl.mechanisms"] = sasl_mechanism;
    p["sasl.username"] = sasl_username;
    p["sasl.password"] = sasl_password;
  }
  if (uses_tls() && !ssl_ca_location.empty()) p["ssl.ca.location"] = ssl_ca_location;
}

boost::system::result<security_config, diagnostic> security_config::from_env(const std::map<std::string, std::string>& env,
                                                                             security_config c) {
  const auto find = [&](const char* var) -> const std::string* {
    auto it = env.find(var);
    return it == env.end() ? nullptr : &it->second;
  };
  if (const std::string* v = find("KAFKA_SECURITY_PROTOCOL")) {
    const std::string u = upper(*v);
    if (u == "PLAINTEXT") c.protocol = security_protocol::plaintext;
    else if (u == "SSL") c.protocol = security_protocol::ssl;
    else if (u == "SASL_PLAINTEXT") c.protocol = security_protocol::sasl_plaintext;
    else if (u == "SASL_SSL") c.protocol = security_protocol::sasl_ssl;
    else
      return bad("KAFKA_SECURITY_PROTOCOL",
                 "KAFKA_SECURITY_PROTOCOL=\"" + *v + "\" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
  }
  if (const std::string* v = find("KAFKA_SASL_MECHANISM")) c.sasl_mechanism = upper(*v);
  if (const std::string* v = find("KAFKA_SASL_USERNAME")) c.sasl_username = *v;
  if (const std::string* v = find("KAFKA_SASL_PASSWORD")) c.sasl_password = *v;
  if (const std::string* v = find("KAFKA_SSL_CA_LOCATION")) c.ssl_ca_location = *v;
  return c;
}

std::string describe(const security_config& c) {
  std::string out = to_string(c.protocol);
  if (c.uses_sasl()) out += ", " + c.sasl_mechanism + " as \"" + c.sasl_username + "\"";
  if (c.uses_tls()) out += c.ssl_ca_location.empty() ? ", the system's CAs" : ", CA " + c.ssl_ca_location;
  return out;
}

namespace detail {
namespace {

bool contains(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

std::string value_or(const std::map<std::string, std::string>& p, const char* key, std::string fallback) {
  auto it = p.find(key);
  return it == p.end() || it->second.empty() ? fallback : it->second;
}

}  // namespace

client_identity client_identity::of(const std::map<std::string, std::string>& p) {
  return {lower(value_or(p, "security.protocol", "plaintext")), value_or(p, "sasl.mechanisms", value_or(p, "sasl.mechanism", "GSSAPI")),
          value_or(p, "sasl.username", ""), value_or(p, "ssl.ca.location", "")};
}

std::optional<diagnostic> security_failure(int rdkafka_err, std::string_view text, const client_identity& who) {
  const std::string reason(text);
  const std::string protocol = upper(who.protocol);
  switch (static_cast<rd_kafka_resp_err_t>(rdkafka_err)) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      if (contains(reason, "SSL handshake") || contains(reason, "certificate")) break;  // TLS, reported as authentication
    {
      std::string message = "SASL " + who.mechanism + " authentication as user \"" + who.username + "\" (" + protocol +
                            ") was refused: " + reason +
                            "; check the user and password (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD) and the mechanism (KAFKA_SASL_MECHANISM)";
      // librdkafka before 2.6.1 repeats the client nonce in SCRAM's final message; Kafka 4.x
      // refuses that (CVE-2024-56128) as if the password were wrong.
      if (who.mechanism.starts_with("SCRAM") && rd_kafka_version() < 0x020601ff)
        message += ". If the brokers run Kafka 4.x: librdkafka " + std::string(rd_kafka_version_str()) +
                   " (before 2.6.1) cannot do SCRAM with them (confluentinc/librdkafka#4895); use PLAIN over SASL_SSL, "
                   "Kafka 3.9 brokers or a newer librdkafka";
      return make_diagnostic(error::authentication_failed, "sasl.username", std::move(message));
    }
    case RD_KAFKA_RESP_ERR__SSL: break;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
      // librdkafka's hint when the listener closed the connection during the first request
      // (ApiVersion): a TLS listener. Its other hint ("Disconnected: verify that security.protocol
      // ...") only says the connection closed within 2 s of coming up, which a broker that is
      // stopping or restarting does as well: that one stays an ordinary transport error.
      if (contains(reason, "while requesting ApiVersion") && contains(reason, "security.protocol"))
        return make_diagnostic(error::wrong_security_protocol, "security.protocol",
                               "the broker closed the connection of a " + protocol + " client: " + reason +
                                   "; set security.protocol (KAFKA_SECURITY_PROTOCOL) to what its listener speaks");
      return std::nullopt;
    default: return std::nullopt;
  }
  if (contains(reason, "wrong version number") || contains(reason, "packet length too long") ||
      contains(reason, "record layer failure") || contains(reason, "http request"))
    return make_diagnostic(error::wrong_security_protocol, "security.protocol",
                           "the listener does not speak TLS, but the client is " + protocol + ": " + reason +
                               "; set security.protocol (KAFKA_SECURITY_PROTOCOL) to what its listener speaks");
  return make_diagnostic(error::tls_failed, "ssl.ca.location",
                         "TLS with the broker failed (" + protocol + ", " +
                             (who.ca.empty() ? std::string("the system's CAs") : "CA " + who.ca) + "): " + reason);
}

bool refuses_for_good(const boost::system::error_code& ec, bool has_worked) noexcept {
  if (ec == make_error_code(error::wrong_security_protocol)) return !has_worked;
  return ec == make_error_code(error::authentication_failed) || ec == make_error_code(error::tls_failed);
}

}  // namespace detail
}  // namespace txova::kafka
