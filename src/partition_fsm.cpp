#include <txova/kafka/detail/partition_fsm.hpp>

namespace txova::kafka::detail {

bool partition_fsm::fetched(std::int64_t offset, action& a) {
  if (state_ != state::running) return false;  // dropped undone: the next owner reads it again
  if (!tracker_.dispatched(offset)) return false;  // seen before (a refetch): already in hand
  if (flow_.queued() == partition_flow::action::pause) a.hold = true;
  return true;
}

partition_fsm::action partition_fsm::done(std::int64_t offset) {
  action a;
  if (!tracker_.done(offset)) return a;
  if (active_ > 0) --active_;
  if (flow_.finished() == partition_flow::action::resume && state_ == state::running) a.release = true;
  if (state_ == state::revoking && active_ == 0) return settle();
  return a;
}

partition_fsm::action partition_fsm::abandoned() {
  if (active_ > 0) --active_;
  if (state_ == state::revoking && active_ == 0) return settle();
  return {};
}

partition_fsm::action partition_fsm::revoked(bool lost) {
  if (state_ != state::running) {
    // Lost while already revoking or committing: no commit will count any more.
    if (lost && state_ != state::gone) {
      lost_ = true;
      if (state_ == state::committing) {
        state_ = state::gone;
        return {.gone = true};
      }
    }
    return {};
  }
  lost_ = lost;
  state_ = state::revoking;
  action a = active_ == 0 ? settle() : action{};
  a.drop_queued = true;
  return a;
}

partition_fsm::action partition_fsm::revoke_deadline() {
  if (state_ != state::revoking) return {};
  if (++deadlines_ == 1) return {.cancel_handlers = true};
  return settle();  // the handler ignores its cancellation: its record stays undone
}

partition_fsm::action partition_fsm::settle() {
  if (!lost_) {
    if (auto o = tracker_.committable()) {
      state_ = state::committing;
      final_commit_ = *o;
      return {.commit = *o};
    }
  }
  state_ = state::gone;
  return {.gone = true};
}

partition_fsm::action partition_fsm::commit_result(std::int64_t offset, const boost::system::error_code& ec) {
  if (!ec) tracker_.committed(offset);
  if (state_ != state::committing || !final_commit_ || offset != *final_commit_) return {};
  if (ec) final_commit_failed_ = true;
  // A record that finished while the commit was on its way is committed in a second round.
  if (!ec && !lost_) {
    if (auto more = tracker_.committable()) {
      final_commit_ = *more;
      return {.commit = *more};
    }
  }
  state_ = state::gone;
  return {.gone = true};
}

partition_fsm::action partition_fsm::commit_deadline() {
  if (state_ == state::gone) return {};
  final_commit_failed_ = state_ == state::committing;
  state_ = state::gone;
  return {.gone = true};
}

}  // namespace txova::kafka::detail
