#pragma once
// Which offset of a partition may be committed: only up to the first record that is not done.
// Sans-IO: the consumer tells it what it dispatched and what finished; it answers what to commit.
//
// Kafka commits "the next offset to read", so the committable offset is the lowest offset still
// in progress, or one past the highest offset seen when nothing is in progress. Offsets need not
// be contiguous (compaction and transaction markers leave gaps).
#include <cstdint>
#include <deque>
#include <optional>

namespace txova::kafka::detail {

class offset_tracker {
public:
  /// `committed`: the group's committed offset when the partition was assigned (-1: none), so
  /// re-committing the starting position is not reported as progress.
  explicit offset_tracker(std::int64_t committed = -1) : committed_(committed) {}

  /// A record was handed to a handler. Offsets must increase; returns false (and ignores it)
  /// when `offset` is not above the last one seen, which a redelivery after a rebalance can do.
  bool dispatched(std::int64_t offset);

  /// The record at `offset` is finished (handled, dead-lettered or skipped as a business error).
  /// Returns false for an offset that is not in progress.
  bool done(std::int64_t offset);

  /// The offset to commit now, or nullopt when nothing new can be committed.
  std::optional<std::int64_t> committable() const;

  /// The broker accepted a commit of `offset`.
  void committed(std::int64_t offset);

  /// The first offset not done: the lowest in progress, else one past the last seen, else the
  /// committed offset (-1 when nothing is known).
  std::int64_t position() const noexcept;

  /// Records dispatched and not done.
  std::size_t in_progress() const noexcept { return in_progress_; }

private:
  struct entry {
    std::int64_t offset;
    bool done;
  };
  std::deque<entry> window_;  // dispatched records, oldest first, until the prefix is done
  std::int64_t last_seen_ = -1;
  std::int64_t committed_ = -1;
  std::size_t in_progress_ = 0;
};

}  // namespace txova::kafka::detail
