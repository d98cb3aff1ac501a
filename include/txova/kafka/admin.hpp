#pragma once
// Topic administration through librdkafka's admin API: create, describe, delete, and
// ensure_topics for a catalog. Every operation is asynchronous in Asio's universal model
// (use_awaitable, deferred, callbacks, use_future) and completes on the caller's executor.
//
// librdkafka 2.0.2 has no DescribeTopics (it arrived in 2.3) and its metadata call blocks, so
// describe reports the topic's configuration (DescribeConfigs), and ensure_topics detects an
// existing topic with fewer partitions than wanted by a validate-only CreatePartitions, which
// the broker accepts only when the count would grow.

#include <txova/kafka/catalog.hpp>
#include <txova/kafka/dead_letter_destination.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/security.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/detail/default_token.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka {

/// How to create one topic.
struct topic_spec {
  std::string name{};
  int partitions = topics::partitions;
  int replication_factor = topics::replication_factor;
  std::optional<std::chrono::milliseconds> retention = topics::retention;  ///< nullopt: broker default
  std::map<std::string, std::string> configs{};                             ///< any other topic config
};

/// Partitions, replication and retention for every topic of a catalog (production defaults).
struct topic_settings {
  int partitions = topics::partitions;
  int replication_factor = topics::replication_factor;
  std::chrono::milliseconds retention = topics::retention;
  dead_letter_destination dead_letters{};  ///< which DLQ topics go with them ("<topic>.dlq")
};

/// The topics of a catalog and their DLQs, each once, in catalog order.
std::vector<topic_spec> catalog_topics(const catalog& c = txova_catalog(), const topic_settings& settings = {});

/// What happened to one topic in a create or delete.
struct topic_outcome {
  std::string topic{};
  boost::system::error_code ec{};  ///< rdkafka category; success when created/deleted
  std::string message{};           ///< the broker's words, with the topic named
};

/// A topic's configuration as the broker reports it.
struct topic_description {
  std::string name{};
  std::map<std::string, std::string> configs{};  ///< e.g. "retention.ms" -> "604800000"
};

/// The result of ensure_topics: nothing is an error merely because it already existed.
struct ensure_report {
  std::vector<std::string> created{};
  std::vector<std::string> existing{};
  std::vector<topic_outcome> fewer_partitions{};  ///< exist with fewer partitions than asked for
  std::vector<topic_outcome> unverified{};        ///< exist, but the partition check was refused
  std::vector<topic_outcome> failed{};            ///< could not be created
  bool ok() const noexcept { return fewer_partitions.empty() && failed.empty(); }
};

/// Connection settings of the admin client.
struct admin_config {
  std::string brokers{};                                  ///< bootstrap.servers
  security_config security{};                             ///< TLS and SASL (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*)
  std::chrono::milliseconds request_timeout{30000};     ///< per admin request
  std::chrono::milliseconds operation_timeout{30000};   ///< wait for creation/deletion to settle
  std::map<std::string, std::string> properties{};        ///< any librdkafka property; wins over the fields

  /// The librdkafka properties this config stands for (fields first, then `properties`).
  std::map<std::string, std::string> rdkafka_properties() const;
  /// Reads KAFKA_BROKERS and the security variables (security_config::from_env) over `base`.
  static boost::system::result<admin_config, diagnostic> from_env(const std::map<std::string, std::string>& env);
  static boost::system::result<admin_config, diagnostic> from_env(const std::map<std::string, std::string>& env,
                                                                  admin_config base);
};

namespace detail {
class admin_core;
using topics_handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<topic_outcome>)>;
using describe_handler = boost::asio::any_completion_handler<void(boost::system::error_code, topic_description)>;
using ensure_handler = boost::asio::any_completion_handler<void(boost::system::error_code, ensure_report)>;
std::shared_ptr<admin_core> make_admin_core(boost::asio::any_io_executor ex, const admin_config& cfg);
void start_create(const std::shared_ptr<admin_core>&, std::vector<topic_spec>, topics_handler);
void start_delete(const std::shared_ptr<admin_core>&, std::vector<std::string>, topics_handler);
void start_describe(const std::shared_ptr<admin_core>&, std::string, describe_handler);
void start_ensure(const std::shared_ptr<admin_core>&, std::vector<topic_spec>, ensure_handler);
void shutdown(admin_core&) noexcept;
}  // namespace detail

/// An admin client on `Executor`. Pending operations complete with operation_aborted when it
/// is destroyed; cancelling one (its cancellation slot) stops the wait, not the broker's work.
template <class Executor = boost::asio::any_io_executor>
class basic_admin {
public:
  using executor_type = Executor;

  /// Throws diagnostic_error naming the property when the configuration is refused.
  basic_admin(Executor ex, const admin_config& cfg) : ex_(std::move(ex)), core_(detail::make_admin_core(ex_, cfg)) {}
  ~basic_admin() {
    if (core_) detail::shutdown(*core_);
  }
  basic_admin(basic_admin&&) noexcept = default;
  basic_admin& operator=(basic_admin&&) = delete;

  executor_type get_executor() const noexcept { return ex_; }

  /// Creates topics: completes with (error_code, one outcome per topic). The error_code is
  /// for the request as a whole (e.g. timed out); per-topic failures are in the outcomes.
  template <class Token = detail::default_token_t<Executor>>
  auto async_create_topics(std::vector<topic_spec> specs, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::vector<topic_outcome>)>(
        [core = core_](auto handler, std::vector<topic_spec> s) {
          detail::start_create(core, std::move(s), std::move(handler));
        },
        token, std::move(specs));
  }

  /// Deletes topics: completes with (error_code, one outcome per topic).
  template <class Token = detail::default_token_t<Executor>>
  auto async_delete_topics(std::vector<std::string> names, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::vector<topic_outcome>)>(
        [core = core_](auto handler, std::vector<std::string> n) {
          detail::start_delete(core, std::move(n), std::move(handler));
        },
        token, std::move(names));
  }

  /// Describes a topic's configuration; an unknown topic is an rdkafka error naming it.
  template <class Token = detail::default_token_t<Executor>>
  auto async_describe_topic(std::string name, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, topic_description)>(
        [core = core_](auto handler, std::string n) { detail::start_describe(core, std::move(n), std::move(handler)); },
        token, std::move(name));
  }

  /// Creates what is missing, leaves what exists, reports topics with too few partitions.
  /// Idempotent. The error_code is set only when the request as a whole failed.
  template <class Token = detail::default_token_t<Executor>>
  auto async_ensure_topics(std::vector<topic_spec> specs, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, ensure_report)>(
        [core = core_](auto handler, std::vector<topic_spec> s) {
          detail::start_ensure(core, std::move(s), std::move(handler));
        },
        token, std::move(specs));
  }

private:
  Executor ex_;
  std::shared_ptr<detail::admin_core> core_;
};

using admin = basic_admin<>;

}  // namespace txova::kafka
