// consumer_core and the group: assignments, revocations (finish the handlers, commit, give the
// partitions back), the partition_fsm's actions, and commits.
#include "consumer_core.hpp"

#include <txova/kafka/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace txova::kafka::detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
std::string describe(const std::vector<topic_partition>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ", ") + p.topic + "[" + std::to_string(p.partition) + "]";
  return s;
}
}  // namespace

void consumer_core::on_assigned(std::vector<topic_partition> parts) {
  ++stats_.rebalances;
  logger()->info("consumer {}: assigned {}", group_, describe(parts));
  for (const auto& tp : parts) {
    if (find(tp.topic, tp.partition)) continue;  // still finishing an earlier revocation of it
    auto p = std::make_shared<partition_state>(ex_, tp.topic, tp.partition, cfg_.max_poll_records);
    partitions_.push_back(p);
    if (dispatcher_ && !stopping_) start_worker(p);
  }
  last_found_ = nullptr;
  assigned_ = partitions_.size();
  if (const error_code ec = port_->assign(parts)) logger()->error("consumer {}: assign failed: {}", group_, ec.message());
}

void consumer_core::on_revoked(std::vector<topic_partition> parts, bool lost) {
  ++stats_.rebalances;
  logger()->info("consumer {}: {} {}", group_, lost ? "lost" : "revoked", describe(parts));
  std::vector<partition_ptr> revoked;
  std::vector<partition_offset> commits;
  for (const auto& tp : parts)
    for (auto& p : partitions_)
      if (p->partition == tp.partition && p->topic == tp.topic) {
        revoked.push_back(p);
        perform(*p, p->fsm.revoked(lost), &commits);
      }
  send_commits(std::move(commits));
  asio::co_spawn(ex_, finish_revoke(std::move(revoked), std::move(parts)), asio::detached);
}

// Does what a partition's state machine asked for. Commits go to `commits` when given (one
// commit for a whole revocation), else out at once.
void consumer_core::perform(partition_state& p, const partition_fsm::action& a, std::vector<partition_offset>* commits) {
  if (a.hold || a.release) {
    port_->hold(p.topic, p.partition, a.hold);
    if (a.release) port_->poke();  // the consumer queue got the held records without a wakeup
    if (a.hold) {
      ++held_;
      arm_hold_timer();
    } else {
      --held_;
    }
  }
  if (a.drop_queued) drop_queued(p);
  if (a.cancel_handlers) p.cancel.emit(asio::cancellation_type::terminal);
  if (a.commit) {
    std::vector<partition_offset> one;
    (commits ? *commits : one).push_back({p.topic, p.partition, *a.commit, {}});
    if (!commits) send_commits(std::move(one));
  }
  if (a.gone || a.commit) notify();
}

// A held partition keeps fetching into its own queue up to librdkafka's prefetch limits; every
// 10 ms, one holding more than its held_prefetch_limit is stopped and its prefetch dropped
// (consumer_port::trim_held), so a partition held for long costs that many records (plus what
// one or two fetches bring in 10 ms), not the prefetch limits (docs/consumer.md, Memory). The
// limit grows with what the strand finished since the last look: a partition held only because
// a fetch brought more than max_poll_records at once is worked through within 100 ms, and
// dropping its prefetch would only make librdkafka fetch and decompress it again.
void consumer_core::arm_hold_timer() {
  if (hold_timer_armed_ || destroyed_) return;
  hold_timer_armed_ = true;
  for (auto& p : partitions_) p->finished_at_look = p->finished;  // what each strand finishes from now
  hold_timer_.expires_after(std::chrono::milliseconds(10));
  hold_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    self->hold_timer_armed_ = false;
    if (ec || self->destroyed_ || !self->port_) return;
    bool any = false;
    for (auto& p : self->partitions_) {
      if (!p->fsm.held()) continue;
      any = true;
      const auto limit = held_prefetch_limit(self->cfg_.held_prefetch_records, p->finished - p->finished_at_look);
      if (self->port_->trim_held(p->topic, p->partition, limit)) ++self->stats_.trimmed;
    }
    if (any) self->arm_hold_timer();
  });
}

// Records fetched or queued but not started are dropped undone (never committed).
void consumer_core::drop_queued(partition_state& p) {
  std::erase_if(buffer_, [&](const auto& e) { return e.first == &p; });
  p.queue.clear();
  p.retry_timer.cancel();
  if (p.idle) p.wake.cancel();
}

// Waits for the revoked partitions' handlers (bounded by the handler timeout, then cancelled,
// then given up), their final commits (bounded), and gives the partitions back.
asio::awaitable<void> consumer_core::finish_revoke(std::vector<partition_ptr> revoked, std::vector<topic_partition> parts) {
  auto self = shared_from_this();
  const auto in = [&](partition_fsm::state s) {
    return std::any_of(revoked.begin(), revoked.end(), [s](const auto& p) { return p->fsm.current() == s; });
  };
  const auto handlers_done = [&] { return !in(partition_fsm::state::revoking); };
  const auto deadline = [&](auto event) {
    std::vector<partition_offset> commits;
    for (auto& p : revoked) perform(*p, ((*p).fsm.*event)(), &commits);
    send_commits(std::move(commits));
  };
  const auto limit = cfg_.handler_timeout + std::chrono::seconds(1);
  if (!co_await wait_until(handlers_done, consumer_clock::now() + limit)) {
    logger()->warn("consumer {}: handlers of revoked partitions still running after {} ms: cancelling them", group_,
                   limit.count());
    deadline(&partition_fsm::revoke_deadline);
    if (!co_await wait_until(handlers_done, consumer_clock::now() + std::chrono::seconds(2))) {
      logger()->warn("consumer {}: handlers of revoked partitions ignore their cancellation: giving their records to "
                     "the next owner", group_);
      deadline(&partition_fsm::revoke_deadline);
    }
  }
  const auto all_gone = [&] { return !in(partition_fsm::state::revoking) && !in(partition_fsm::state::committing); };
  if (!co_await wait_until(all_gone, consumer_clock::now() + std::chrono::seconds(10))) {
    logger()->warn("consumer {}: final commit of revoked partitions did not complete within 10 s", group_);
    deadline(&partition_fsm::commit_deadline);
  }
  if (destroyed_) co_return;
  for (auto& p : revoked) {
    if (p->fsm.final_commit_failed())
      logger()->warn("consumer {}: final commit of {}[{}] failed: records from offset {} go to its next owner again",
                     group_, p->topic, p->partition, p->fsm.tracker().position());
    p->deadline_timer.cancel();
    port_->hold(p->topic, p->partition, false);  // where a later assignment of it starts
    partition_erased(*p);
    std::erase(partitions_, p);
  }
  last_found_ = nullptr;
  assigned_ = partitions_.size();
  if (const error_code ec = port_->unassign(parts)) logger()->error("consumer {}: unassign failed: {}", group_, ec.message());
  port_->poke();
}

// ---- commits -------------------------------------------------------------------------------

// Commits what every running partition may commit; `only`, when given, limits it to those.
void consumer_core::commit(const std::vector<partition_state*>* only) {
  last_commit_ = consumer_clock::now();
  std::vector<partition_offset> offsets;
  for (const auto& p : partitions_) {
    if (p->fsm.lost() || p->fsm.current() == partition_fsm::state::gone) continue;
    if (only && std::find(only->begin(), only->end(), p.get()) == only->end()) continue;
    if (auto o = p->fsm.committable()) offsets.push_back({p->topic, p->partition, *o, {}});
  }
  send_commits(std::move(offsets));
}

void consumer_core::send_commits(std::vector<partition_offset> offsets) {
  if (offsets.empty() || !port_) return;
  if (!cfg_.commit_offsets) {
    // Looking only: every state machine goes on as if the broker had taken the commit.
    for (const auto& o : offsets)
      if (partition_state* p = find(o.topic, o.partition)) perform(*p, p->fsm.commit_result(o.offset, {}));
    return;
  }
  if (const error_code ec = port_->commit(offsets)) {
    logger()->warn("consumer {}: commit of {} partition(s) refused: {}", group_, offsets.size(), ec.message());
    // A refused final commit ends its revocation as a failed one.
    for (const auto& o : offsets)
      if (partition_state* p = find(o.topic, o.partition)) perform(*p, p->fsm.commit_result(o.offset, ec));
    return;
  }
  ++commits_in_flight_;
}

void consumer_core::on_commit_result(error_code ec, std::vector<partition_offset> offsets) {
  if (commits_in_flight_ > 0) --commits_in_flight_;
  if (ec && !offsets.empty()) logger()->warn("consumer {}: offset commit failed: {}", group_, ec.message());
  bool any = false;
  // A failed partition sets the overall error too: the others were still committed.
  for (const auto& o : offsets) {
    if (o.ec)
      logger()->warn("consumer {}: commit of {}[{}]@{} failed: {}", group_, o.topic, o.partition, o.offset, o.ec.message());
    else
      any = true;
    if (partition_state* p = find(o.topic, o.partition)) perform(*p, p->fsm.commit_result(o.offset, o.ec));
  }
  if (any) {
    ++stats_.commits;
    brokers_down_ = false;
  }
  notify();
}

}  // namespace txova::kafka::detail
