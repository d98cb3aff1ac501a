#pragma once
// Where txova-kafka logs: an spdlog logger, by default spdlog's default logger. Failures are
// logged with the event id and correlation id; configuration secrets never are.
#include <memory>

namespace spdlog {
class logger;
}

namespace txova::kafka {

/// Uses `l` for everything the library logs (nullptr: back to spdlog's default logger).
void set_logger(std::shared_ptr<spdlog::logger> l);
/// The logger in use.
std::shared_ptr<spdlog::logger> logger();

}  // namespace txova::kafka
