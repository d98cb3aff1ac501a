#pragma once
// Backpressure for one partition: when to hold it at librdkafka (its records stop reaching the
// consumer) and when to release it.
// Sans-IO. Paused once `limit` records wait for (or are in) its strand; resumed when they have
// drained to half the limit, so a partition near the limit does not flap between the two.
#include <cstddef>

namespace txova::kafka::detail {

class partition_flow {
public:
  enum class action { none, pause, resume };

  explicit partition_flow(std::size_t limit) : limit_(limit < 1 ? 1 : limit) {}

  /// A record of this partition was queued for its strand.
  action queued() noexcept {
    ++depth_;
    if (!paused_ && depth_ >= limit_) {
      paused_ = true;
      return action::pause;
    }
    return action::none;
  }

  /// A record of this partition is finished (handled, dead-lettered or skipped).
  action finished() noexcept {
    if (depth_ > 0) --depth_;
    if (paused_ && depth_ <= limit_ / 2) {
      paused_ = false;
      return action::resume;
    }
    return action::none;
  }

  std::size_t depth() const noexcept { return depth_; }
  bool paused() const noexcept { return paused_; }

private:
  std::size_t limit_;
  std::size_t depth_ = 0;
  bool paused_ = false;
};

}  // namespace txova::kafka::detail
