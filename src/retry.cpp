#include <txova/kafka/retry.hpp>

#include <txova/kafka/error.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace txova::kafka {

std::chrono::milliseconds backoff_policy::delay(int retry, double unit_random) const noexcept {
  if (retry < 1) retry = 1;
  const double cap = static_cast<double>(std::max(max, initial).count());
  const double bound = std::min(cap, static_cast<double>(initial.count()) * std::pow(multiplier, retry - 1));
  const double j = std::clamp(jitter, 0.0, 1.0);
  const double u = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(bound * (1.0 - j * u))));
}

std::chrono::milliseconds backoff_policy::delay(int retry) const { return delay(retry, detail::unit_random()); }

double detail::unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

failure_kind classify(const boost::system::error_code& ec) noexcept {
  if (ec.category() == error_category()) {
    switch (static_cast<error>(ec.value())) {
      case error::dead_letter_failed:
      case error::timed_out: return failure_kind::transient;
      default: return failure_kind::permanent;  // validation and configuration errors do not heal
    }
  }
  if (ec.category() != rdkafka_category()) return failure_kind::transient;
  switch (static_cast<rd_kafka_resp_err_t>(ec.value())) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:  // bad topic name
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:  // librdkafka: the cluster says the topic does not exist
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:     // we purged it on close: retrying would defeat the close
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return failure_kind::permanent;
    default:
      return failure_kind::transient;
  }
}

}  // namespace txova::kafka
