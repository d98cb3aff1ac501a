#pragma once
// The lifecycle of one assigned partition as a state machine without I/O: the consumer tells it
// what happened to the partition's records (fetched, started, done, abandoned), to the group
// (revoked, lost), to commits and deadlines, and does what it answers. No Asio, no librdkafka:
// unit tests drive it through every transition, the ugly orders included.
//
//   running <--> held          backpressure: held once `limit` records wait for its strand or
//      |                       are in it, released when they drain to half
//      | revoked
//      v
//   revoking  -- no record in a handler --> committing -- commit done / failed / deadline --> gone
//      |  deadline: cancel the handlers; second deadline: give up on them (their records are
//      |  not done, so the commit stops before them and the next owner handles them again)
//      | lost (no chance to commit)
//      +----------------------- no record in a handler -----------------------------------> gone
//
// What it commits is always the done prefix (offset_tracker): a record is never committed
// before it and every record before it is done.
#include <txova/kafka/detail/offset_tracker.hpp>
#include <txova/kafka/detail/partition_flow.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>

namespace txova::kafka::detail {

class partition_fsm {
public:
  enum class state { running, revoking, committing, gone };

  /// What the consumer does after an event.
  struct action {
    bool hold = false;             ///< cut the partition's queue off from the consumer (backpressure)
    bool release = false;          ///< let it flow again
    bool drop_queued = false;      ///< records waiting for its strand are dropped (never committed)
    bool cancel_handlers = false;  ///< cancel what its strand runs
    std::optional<std::int64_t> commit{};  ///< commit this offset now
    bool gone = false;             ///< finished: the partition may be given back (unassigned)
  };

  explicit partition_fsm(std::size_t limit) : flow_(limit) {}

  // ---- records ---------------------------------------------------------------------------
  /// A record was fetched at `offset`: true when it is to be handled (false: seen before, or the
  /// partition is no longer running; it is then dropped undone). May ask to hold the partition.
  bool fetched(std::int64_t offset, action& a);
  /// A fetched record went to a handler (or to a records() reader).
  void started() noexcept { ++active_; }
  /// The record at `offset` is done (handled, dead-lettered, skipped): it may be committed once
  /// those before it are. May release the partition, or finish a revocation.
  action done(std::int64_t offset);
  /// A started record will not be done here (the consumer stops, the partition was revoked
  /// during its retries): it stays uncommitted. May finish a revocation.
  action abandoned();

  // ---- the group -------------------------------------------------------------------------
  /// The partition was revoked; `lost`: without a chance to commit.
  action revoked(bool lost);
  /// The revocation's deadline passed with a record still in a handler: the first time, cancel
  /// the handlers; the second, give up waiting for them.
  action revoke_deadline();
  /// The commit of `offset` came back.
  action commit_result(std::int64_t offset, const boost::system::error_code& ec);
  /// The final commit did not come back in time: give the partition up anyway.
  action commit_deadline();

  // ---- questions -------------------------------------------------------------------------
  state current() const noexcept { return state_; }
  bool running() const noexcept { return state_ == state::running; }
  bool lost() const noexcept { return lost_; }
  bool held() const noexcept { return flow_.paused(); }
  /// Records started and not yet done or abandoned.
  std::size_t active() const noexcept { return active_; }
  /// What may be committed now (the done prefix), if anything new.
  std::optional<std::int64_t> committable() const { return tracker_.committable(); }
  const offset_tracker& tracker() const noexcept { return tracker_; }
  /// The final commit of a revocation failed: records after the committed offset go to the
  /// next owner again.
  bool final_commit_failed() const noexcept { return final_commit_failed_; }

private:
  action settle();  // in revoking, once no handler runs: commit or be gone

  offset_tracker tracker_;
  partition_flow flow_;
  state state_ = state::running;
  std::size_t active_ = 0;
  int deadlines_ = 0;
  bool lost_ = false;
  bool final_commit_failed_ = false;
  std::optional<std::int64_t> final_commit_;
};

}  // namespace txova::kafka::detail
