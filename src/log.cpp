#include <txova/kafka/log.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

namespace txova::kafka {
namespace {
std::mutex mutex;
std::shared_ptr<spdlog::logger> current;
}  // namespace

void set_logger(std::shared_ptr<spdlog::logger> l) {
  std::lock_guard lock(mutex);
  current = std::move(l);
}

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard lock(mutex);
  return current ? current : spdlog::default_logger();
}

void detail::log_librdkafka(std::string_view client, int level, const char* facility, const char* message) {
  // A FAIL line is a broker connection failure that librdkafka also reports to the error
  // callback, which the producer and consumer log with its error name: said once, there.
  const bool reported_again = facility && std::string_view(facility) == "FAIL";
  const auto spd = reported_again ? spdlog::level::debug
                   : level <= 3 ? spdlog::level::err
                   : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  logger()->log(spd, "librdkafka {} {}: {}", client, facility ? facility : "", message ? message : "");
}

}  // namespace txova::kafka
