#include <txova/kafka/detail/offset_tracker.hpp>

#include <algorithm>

namespace txova::kafka::detail {

bool offset_tracker::dispatched(std::int64_t offset) {
  if (offset < 0 || offset <= last_seen_) return false;
  window_.push_back({offset, false});
  last_seen_ = offset;
  ++in_progress_;
  return true;
}

bool offset_tracker::done(std::int64_t offset) {
  // Offsets in the window increase, so the record is found by binary search.
  auto it = std::lower_bound(window_.begin(), window_.end(), offset,
                             [](const entry& e, std::int64_t o) { return e.offset < o; });
  if (it == window_.end() || it->offset != offset || it->done) return false;
  it->done = true;
  --in_progress_;
  // Drop the done prefix: what remains starts at the first record still in progress.
  while (!window_.empty() && window_.front().done) window_.pop_front();
  return true;
}

std::optional<std::int64_t> offset_tracker::committable() const {
  const std::int64_t next = window_.empty() ? last_seen_ + 1 : window_.front().offset;
  if (last_seen_ < 0 || next <= committed_) return std::nullopt;
  return next;
}

void offset_tracker::committed(std::int64_t offset) { committed_ = std::max(committed_, offset); }

}  // namespace txova::kafka::detail

namespace txova::kafka::detail {

std::int64_t offset_tracker::position() const noexcept {
  if (!window_.empty()) return window_.front().offset;
  if (last_seen_ >= 0) return last_seen_ + 1;
  return committed_;
}

}  // namespace txova::kafka::detail
