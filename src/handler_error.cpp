#include <txova/kafka/handler_error.hpp>

#include <txova/kafka/error.hpp>

#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <librdkafka/rdkafka.h>

namespace txova::kafka {

classified_failure classify_handler_failure(std::exception_ptr e) noexcept {
  try {
    if (e) std::rethrow_exception(e);
    return {handler_failure::transient, "handler failed without an exception"};
  } catch (const business_error& x) {
    return {handler_failure::business, x.what()};
  } catch (const permanent_error& x) {
    return {handler_failure::permanent, x.what()};
  } catch (const transient_error& x) {
    return {handler_failure::transient, x.what()};
  } catch (const diagnostic_error& x) {
    return {handler_failure::permanent, x.detail().message.empty() ? std::string(x.what()) : x.detail().message};
  } catch (const boost::system::system_error& x) {
    return {classify(x.code()) == failure_kind::permanent ? handler_failure::permanent : handler_failure::transient,
            x.what()};
  } catch (const std::exception& x) {
    return {handler_failure::transient, x.what()};
  } catch (...) {
    return {handler_failure::transient, "handler threw a non-standard exception"};
  }
}

std::string error_type(const boost::system::error_code& ec) {
  if (!ec) return {};
  if (ec.category() == rdkafka_category()) return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(ec.value()));
  if (ec.category() == error_category()) {
    static constexpr const char* names[] = {"",
                                            "invalid_json", "too_large", "too_deep", "duplicate_key", "missing_field",
                                            "wrong_type", "invalid_field", "unknown_event_type", "no_partition_key",
                                            "invalid_config", "not_sent", "batch_incomplete", "dead_letter_failed",
                                            "closed", "timed_out", "queue_full", "fatal", "internal",
                                            "authentication_failed", "tls_failed", "wrong_security_protocol",
                                            "not_a_dead_letter"};
    if (ec.value() > 0 && static_cast<std::size_t>(ec.value()) < std::size(names)) return names[ec.value()];
  }
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

std::string error_type_of(const std::exception_ptr& failure) {
  if (!failure) return {};
  try {
    std::rethrow_exception(failure);
  } catch (const transient_error&) {
    return "transient";
  } catch (const permanent_error&) {
    return "permanent";
  } catch (const business_error&) {
    return "business";
  } catch (const boost::system::system_error& e) {
    return e.code() == boost::asio::error::operation_aborted ? "timeout" : error_type(e.code());
  } catch (const std::exception&) {
    return "exception";
  } catch (...) {
    return "unknown";
  }
}

namespace detail {

failure_decision decide(handler_failure kind, int attempt, int max_retries, const backoff_policy& backoff,
                        double unit_random) noexcept {
  switch (kind) {
    case handler_failure::business: return {next_step::skip};
    case handler_failure::permanent: return {next_step::dead_letter};
    case handler_failure::transient: break;
  }
  if (attempt > max_retries) return {next_step::dead_letter};
  return {next_step::retry, backoff.delay(attempt, unit_random)};
}

}  // namespace detail
}  // namespace txova::kafka
