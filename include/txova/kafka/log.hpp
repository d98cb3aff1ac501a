#pragma once
// Where txova-kafka logs: an spdlog logger, by default spdlog's default logger. Failures are
// logged with the event id and correlation id; configuration secrets never are.
#include <memory>
#include <string_view>

namespace spdlog {
class logger;
}

namespace txova::kafka {

/// A level of the logs the library writes (spdlog's, without its header).
enum class log_level { trace, debug, info, warn, error, critical, off };

/// Uses `l` for everything the library logs (nullptr: back to spdlog's default logger).
void set_logger(std::shared_ptr<spdlog::logger> l);
/// The logger in use.
std::shared_ptr<spdlog::logger> logger();

namespace detail {
/// spdlog's level for `l` (spdlog::level::level_enum as an int, to keep spdlog out of this header).
int spdlog_level(log_level l) noexcept;
/// Logs a librdkafka log line (syslog `level`, facility, message) of client `client`.
void log_librdkafka(std::string_view client, int level, const char* facility, const char* message);
}  // namespace detail

}  // namespace txova::kafka
