#pragma once
// Where txova-kafka logs: an spdlog logger, by default spdlog's default logger. Failures are
// logged with the event id and correlation id; configuration secrets never are.
#include <memory>
#include <string_view>

namespace spdlog {
class logger;
}

namespace txova::kafka {

/// Uses `l` for everything the library logs (nullptr: back to spdlog's default logger).
void set_logger(std::shared_ptr<spdlog::logger> l);
/// The logger in use.
std::shared_ptr<spdlog::logger> logger();

namespace detail {
/// Logs a librdkafka log line (syslog `level`, facility, message) of client `client`.
void log_librdkafka(std::string_view client, int level, const char* facility, const char* message);
}  // namespace detail

}  // namespace txova::kafka
