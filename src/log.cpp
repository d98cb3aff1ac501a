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

}  // namespace txova::kafka
