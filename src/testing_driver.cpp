// The test kit's handler driver (testing/handler_driver.hpp): the consumer over a port that
// hands it one record at a time and learns, through the consumer's probe, how each finished.
#include <txova/kafka/testing/handler_driver.hpp>

#include <txova/kafka/detail/completion_queue.hpp>
#include <txova/kafka/detail/consumer_port.hpp>

#include "testing_recording_port.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <stdexcept>

namespace txova::kafka::testing {

namespace asio = boost::asio;
using boost::system::error_code;
using kafka::detail::consumer_events;
using kafka::detail::consumer_probe;
using kafka::detail::partition_offset;
using kafka::detail::topic_partition;

std::string_view to_string(handler_result r) noexcept {
  switch (r) {
    case handler_result::handled: return "handled";
    case handler_result::skipped: return "skipped";
    case handler_result::dead_lettered: return "dead_lettered";
    case handler_result::not_finished: return "not_finished";
  }
  return "unknown";
}

consumer_config driver_config() {
  consumer_config c;
  c.brokers = "handler-driver:0";  // never dialled
  c.group_id = "handler-driver";
  c.topics = {"handler-driver"};   // what the group would subscribe to; any record's topic is driven
  return c;
}

namespace {

using drive_handler = asio::any_completion_handler<void(handler_outcome)>;
using key = std::pair<std::string, std::int32_t>;

// A record's parts (records are move-only; the driver hands the consumer copies).
record_data data_of(const consumed_record& r) {
  record_data d;
  d.topic = std::string(r.topic());
  d.partition = r.partition();
  d.offset = r.offset();
  if (r.has_key()) d.key = std::string(r.key());
  if (!r.is_tombstone()) d.value = std::string(r.value());
  d.headers = r.headers();
  d.broker_time = r.broker_time();
  return d;
}

// The port's side of the driver: what the consumer was handed and what came back. Shared by the
// port (owned by the consumer, which may outlive the driver by a little) and the driver.
struct drive_state final : consumer_probe, std::enable_shared_from_this<drive_state> {
  struct drive {
    record_data record;
    drive_handler handler;
    handler_outcome outcome{};
    std::uint64_t dead_letters_before = 0;
    std::unique_ptr<asio::steady_timer> limit;
  };

  asio::any_io_executor ex;
  std::optional<kafka::detail::completion_queue> completions;
  driver_options options;
  std::shared_ptr<event_store> dead_letters = std::make_shared<event_store>();
  consumer_events* sink = nullptr;
  std::map<key, std::int64_t> assigned;  // partition -> the last offset handed over
  std::map<key, record_data> after_revoke;  // waits for the partition's revocation to finish
  bool closing = false, closed = false;
  std::deque<drive> drives;  // the front one is with the consumer
  std::string stopped;       // why the consumer stopped, once it did

  template <class F>
  void post(F f) {
    asio::post(ex, [self = shared_from_this(), f = std::move(f)]() mutable {
      if (self->sink) f(*self->sink);
    });
  }
  bool is_front(const consumed_record& r) const {
    if (drives.empty()) return false;
    const record_data& f = drives.front().record;
    return f.offset == r.offset() && f.partition == r.partition() && f.topic == r.topic();
  }

  // The front drive goes to the consumer.
  void hand_over() {
    if (drives.empty()) return;
    drive& d = drives.front();
    d.dead_letters_before = dead_letters->size();
    if (!stopped.empty()) return complete("the consumer stopped: " + stopped);
    arm_limit(d);
    const record_data& r = d.record;
    const key k{r.topic, r.partition};
    auto it = assigned.find(k);
    if (it == assigned.end()) {
      assigned[k] = r.offset;
      post([r, k](consumer_events& s) {
        s.on_assigned({topic_partition{k.first, k.second}});
        s.on_record(consumed_record(r));
      });
    } else if (r.offset > it->second) {
      it->second = r.offset;
      post([r](consumer_events& s) { s.on_record(consumed_record(r)); });
    } else {
      // Not after what the partition saw: the consumer gets it as a newly assigned partition
      // would (a rebalance, a restart from an earlier commit), once the old assignment is gone.
      assigned.erase(it);
      after_revoke.emplace(k, r);
      post([k](consumer_events& s) { s.on_revoked({topic_partition{k.first, k.second}}, false); });
    }
  }

  void arm_limit(drive& d) {
    d.limit = std::make_unique<asio::steady_timer>(ex, options.limit);
    d.limit->async_wait([weak = weak_from_this(), timer = d.limit.get()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->drives.empty() || self->drives.front().limit.get() != timer) return;
      self->complete("not finished within " + std::to_string(self->options.limit.count()) + " ms");
    });
  }

  // The front drive is over: its handler gets the outcome on its own executor.
  void complete(std::string not_finished_reason = {}) {
    drive d = std::move(drives.front());
    drives.pop_front();
    if (d.limit) d.limit->cancel();
    if (!not_finished_reason.empty()) {
      d.outcome.result = handler_result::not_finished;
      d.outcome.reason = std::move(not_finished_reason);
    }
    completions->complete(std::move(d.handler), std::move(d.outcome));
    hand_over();
  }

  // consumer_probe
  void attempt_failed(const consumed_record& r, int, std::string_view reason, bool timed_out) override {
    if (!is_front(r)) return;
    handler_outcome& o = drives.front().outcome;
    o.failures.emplace_back(reason);
    if (timed_out) ++o.timeouts;
  }
  bool waits(std::string_view topic, std::int32_t partition, std::chrono::milliseconds delay) override {
    if (!drives.empty() && drives.front().record.partition == partition && drives.front().record.topic == topic)
      drives.front().outcome.backoffs.push_back(delay);
    return options.virtual_time;
  }
  void finished(const consumed_record& r, verdict v, std::string_view reason, int handler_calls) override {
    if (!is_front(r)) return;
    handler_outcome& o = drives.front().outcome;
    o.attempts = handler_calls;
    o.result = v == verdict::handled ? handler_result::handled
               : v == verdict::skipped ? handler_result::skipped
                                       : handler_result::dead_lettered;
    o.reason = std::string(reason);
    if (v == verdict::dead_lettered) find_dead_letter(drives.front());
    complete();
  }

  void find_dead_letter(drive& d) {
    const auto all = dead_letters->all();
    for (std::size_t i = all.size(); i-- > d.dead_letters_before;) {
      auto decoded = decode_dead_letter(consumed_record(all[i].record));
      if (!decoded) continue;
      const dead_letter& dl = decoded->failure;
      if (dl.original_offset == d.record.offset && dl.original_partition == d.record.partition &&
          dl.original_topic == d.record.topic) {
        d.outcome.dead_letter_record = all[i];
        d.outcome.dead_letter = std::move(*decoded);
        return;
      }
    }
  }
};

class driver_port final : public kafka::detail::consumer_port {
public:
  explicit driver_port(std::shared_ptr<drive_state> s) : s_(std::move(s)) {}
  consumer_probe* probe() noexcept override { return s_.get(); }
  void start(consumer_events& sink) override { s_->sink = &sink; }
  error_code subscribe(const std::vector<std::string>&) override { return {}; }
  error_code assign(const std::vector<topic_partition>&) override { return {}; }
  error_code unassign(const std::vector<topic_partition>& parts) override {
    for (const auto& tp : parts) {
      auto it = s_->after_revoke.find({tp.topic, tp.partition});
      if (it == s_->after_revoke.end()) continue;
      record_data r = std::move(it->second);
      s_->after_revoke.erase(it);
      s_->assigned[{tp.topic, tp.partition}] = r.offset;
      s_->post([r, tp](consumer_events& s) {
        s.on_assigned({tp});
        s.on_record(consumed_record(r));
      });
    }
    if (s_->closing) s_->closed = true;
    return {};
  }
  error_code commit(const std::vector<partition_offset>& offsets) override {
    s_->post([offsets](consumer_events& s) { s.on_commit_result({}, offsets); });
    return {};
  }
  void hold(std::string_view, std::int32_t, bool) override {}
  bool trim_held(std::string_view, std::int32_t, std::size_t) override { return false; }
  std::optional<std::pair<std::int64_t, std::int64_t>> watermarks(std::string_view, std::int32_t) const override {
    return std::nullopt;
  }
  error_code close() override {
    s_->closing = true;
    std::vector<topic_partition> all;
    for (const auto& [k, offset] : s_->assigned) all.push_back({k.first, k.second});
    s_->assigned.clear();
    if (all.empty()) s_->closed = true;
    else s_->post([all](consumer_events& s) { s.on_revoked(all, false); });
    return {};
  }
  bool closed() const override { return s_->closed; }
  std::chrono::steady_clock::time_point last_poll() const override { return std::chrono::steady_clock::now(); }
  void set_busy(bool) override {}
  void poke() override {}
  void stop() noexcept override { s_->sink = nullptr; }

private:
  std::shared_ptr<drive_state> s_;
};

}  // namespace

struct handler_driver::state {
  std::unique_ptr<asio::io_context> own;
  std::shared_ptr<drive_state> drives = std::make_shared<drive_state>();
  std::optional<kafka::consumer> consumer;
  bool running = false;
  std::optional<error_code> ran;
};

namespace {
std::shared_ptr<handler_driver::state> make_state(std::unique_ptr<asio::io_context> own, asio::any_io_executor ex,
                                                  consumer_config cfg, driver_options options) {
  auto st = std::make_shared<handler_driver::state>();
  st->own = std::move(own);
  st->drives->ex = ex;
  st->drives->completions.emplace(ex);
  st->drives->options = options;
  st->consumer.emplace(ex, std::move(cfg), std::make_unique<driver_port>(st->drives),
                       make_recording_port(ex, st->drives->dead_letters));
  return st;
}
}  // namespace

handler_driver::handler_driver(consumer_config cfg, driver_options options) {
  auto own = std::make_unique<asio::io_context>(1);
  auto ex = own->get_executor();
  state_ = make_state(std::move(own), ex, std::move(cfg), options);
}

handler_driver::handler_driver(asio::any_io_executor ex, consumer_config cfg, driver_options options)
    : state_(make_state(nullptr, std::move(ex), std::move(cfg), options)) {}

handler_driver::~handler_driver() {
  if (!state_ || !state_->consumer) return;
  if (state_->running && !state_->ran) {
    state_->consumer->stop();
    if (state_->own) {  // a graceful stop: in-flight handlers finish, offsets are committed
      state_->own->restart();
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!state_->ran && std::chrono::steady_clock::now() < until)
        if (state_->own->run_one_until(until) == 0) break;
    }
  }
  // Drives still waiting are told so (run by whoever runs their executor).
  auto d = state_->drives;
  while (!d->drives.empty()) {
    drive_state::drive x = std::move(d->drives.front());
    d->drives.pop_front();
    x.outcome.reason = "the handler driver was destroyed";
    d->completions->complete(std::move(x.handler), std::move(x.outcome));
  }
  state_->consumer.reset();
}

asio::any_io_executor handler_driver::get_executor() const noexcept { return state_->drives->ex; }
kafka::consumer& handler_driver::consumer() noexcept { return *state_->consumer; }
event_store& handler_driver::dead_letters() noexcept { return *state_->drives->dead_letters; }

void handler_driver::start_drive(consumed_record r, drive_handler h) {
  auto st = state_;
  asio::post(st->drives->ex, [st, r = std::move(r), h = std::move(h)]() mutable {
    auto& d = *st->drives;
    if (!st->running) {
      st->running = true;
      st->consumer->async_run([st](error_code ec) {
        st->ran = ec;
        auto& ds = *st->drives;
        ds.stopped = ec && st->consumer ? st->consumer->failure().message : "it was stopped";
        if (ds.stopped.empty()) ds.stopped = ec.message();
        if (!ds.drives.empty()) ds.complete("the consumer stopped: " + ds.stopped);
      });
    }
    d.drives.push_back(drive_state::drive{data_of(r), std::move(h), {}, 0, nullptr});
    if (d.drives.size() == 1) d.hand_over();
  });
}

handler_outcome handler_driver::drive(consumed_record r) {
  if (!state_->own)
    throw std::logic_error("handler_driver::drive runs the driver's own io_context; this driver runs on the caller's "
                           "executor: use async_drive");
  std::optional<handler_outcome> out;
  start_drive(std::move(r), [&out](handler_outcome o) { out = std::move(o); });
  asio::io_context& ioc = *state_->own;
  ioc.restart();
  while (!out)
    if (ioc.run_one() == 0) break;
  if (!out) {
    handler_outcome o;
    o.reason = "the driver's io_context ran out of work before the record finished";
    return o;
  }
  return std::move(*out);
}

}  // namespace txova::kafka::testing
