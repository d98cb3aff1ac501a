#include <txova/kafka/handler_error.hpp>

#include <txova/kafka/error.hpp>

#include <boost/system/system_error.hpp>

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
