#pragma once
// librdkafka's error codes as boost::system::error_code values, in a category of their own
// ("rdkafka"), keeping librdkafka's code and message.

#include <boost/system/error_code.hpp>

namespace txova::kafka {

/// The category of librdkafka's `rd_kafka_resp_err_t` codes; message() is rd_kafka_err2str().
const boost::system::error_category& rdkafka_category() noexcept;

/// `err` (an rd_kafka_resp_err_t value) as an error_code; RD_KAFKA_RESP_ERR_NO_ERROR is success.
inline boost::system::error_code make_rdkafka_error(int err) noexcept { return {err, rdkafka_category()}; }

}  // namespace txova::kafka
