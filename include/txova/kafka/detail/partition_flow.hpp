#pragma once
// Backpressure for one partition: when to hold it at librdkafka (its records stop reaching the
// consumer) and when to release it.
// Sans-IO. Paused once `limit` records wait for (or are in) its strand; resumed when they have
// drained to half the limit, so a partition near the limit does not flap between the two.
#include <cstddef>
#include <cstdint>

namespace txova::kafka::detail {

/// What a held partition may keep prefetched in librdkafka before it is stopped and its prefetch
/// dropped: the configured records (consumer_config::held_prefetch_records), or what its strand
/// works through in ten looks of the hold timer, if more (`finished_since_look`: records its
/// strand finished since the last look).
constexpr std::size_t held_prefetch_limit(std::size_t configured, std::uint64_t finished_since_look) noexcept {
  const std::uint64_t horizon = finished_since_look * 10;
  return horizon > configured ? static_cast<std::size_t>(horizon) : configured;
}

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
