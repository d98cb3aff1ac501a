#pragma once
// Ports that stand in for librdkafka in unit tests of the producer and consumer cores: the test
// drives them (ack this message, fail that one, assign these partitions, answer that commit) and
// inspects what the core asked for. Events reach the core on the executor, as the contract says.
#include <txova/kafka/detail/consumer_port.hpp>
#include <txova/kafka/detail/producer_port.hpp>
#include <txova/kafka/rdkafka_error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace txova::kafka::test {

// ---- producer --------------------------------------------------------------------------------

struct sent_message {
  std::string topic{};
  std::optional<std::string> key{};
  std::optional<std::string> value{};
  std::vector<std::pair<std::string, std::string>> headers{};
  void* opaque = nullptr;
  bool reported = false;
};

struct fake_producer_state {
  boost::asio::any_io_executor ex{};
  detail::producer_events* sink = nullptr;
  std::vector<sent_message> sent{};  // every message the port took, in order
  std::size_t room = 1000000;      // messages it takes before answering queue_full
  std::size_t held = 0;            // taken and not yet reported
  bool auto_ack = false;           // report success for every message at once (posted)
  std::size_t purges = 0;
  std::size_t queued_purges = 0;
  std::vector<std::uint64_t> probes{};
  bool busy = false;

  // Reports message `i` (posted, as librdkafka's queue would).
  void report(std::size_t i, boost::system::error_code ec = {}, detail::persistence p = detail::persistence::persisted,
              std::string text = {}) {
    boost::asio::post(ex, [this, i, ec, p, text] {
      auto& m = sent.at(i);
      if (m.reported || !sink) return;
      m.reported = true;
      --held;
      detail::delivery_report r;
      r.opaque = m.opaque;
      r.ec = ec;
      const std::string why = text.empty() ? ec.message() : text;
      r.error_text = why;
      r.status = ec ? p : detail::persistence::persisted;
      r.partition = ec ? -1 : 0;
      r.offset = ec ? -1 : static_cast<std::int64_t>(i);
      sink->on_delivery(r);
      sink->on_room();
    });
  }
  void client_error(boost::system::error_code ec, std::string text, bool fatal) {
    boost::asio::post(ex, [this, ec, text, fatal] {
      if (sink) sink->on_client_error(ec, text, fatal);
    });
  }
  void answer_probe(std::uint64_t id, boost::system::error_code ec = {}) {
    boost::asio::post(ex, [this, id, ec] {
      if (sink) sink->on_probe_result(id, ec, ec ? ec.message() : std::string());
    });
  }
};

class fake_producer_port final : public detail::producer_port {
public:
  explicit fake_producer_port(std::shared_ptr<fake_producer_state> s) : s_(std::move(s)) {}
  void start(detail::producer_events& sink) override { s_->sink = &sink; }
  outcome produce(const detail::outgoing_message& m, boost::system::error_code&, std::string&) override {
    if (s_->held >= s_->room) return outcome::queue_full;
    sent_message out{std::string(m.topic), {}, {}, {}, m.opaque, false};
    if (m.key) out.key = std::string(*m.key);
    if (m.value) out.value = std::string(*m.value);
    for (const auto& [k, v] : m.headers) out.headers.emplace_back(std::string(k), std::string(v));
    s_->sent.push_back(std::move(out));
    ++s_->held;
    if (s_->auto_ack) s_->report(s_->sent.size() - 1);
    return outcome::accepted;
  }
  std::size_t queue_depth() const override { return s_->held; }
  // As librdkafka does: whatever it holds comes back as purged.
  void purge() override {
    ++s_->purges;
    for (std::size_t i = 0; i < s_->sent.size(); ++i)
      if (!s_->sent[i].reported) s_->report(i, make_rdkafka_error(-152 /* RD_KAFKA_RESP_ERR__PURGE_QUEUE */),
                                            detail::persistence::not_persisted, "Local: Purged in queue");
  }
  // The fake sends nothing before the test reports it: everything held counts as queued.
  void purge_queued() override {
    ++s_->queued_purges;
    for (std::size_t i = 0; i < s_->sent.size(); ++i)
      if (!s_->sent[i].reported) s_->report(i, make_rdkafka_error(-152 /* RD_KAFKA_RESP_ERR__PURGE_QUEUE */),
                                            detail::persistence::not_persisted, "Local: Purged in queue");
  }
  void probe(std::uint64_t id, std::chrono::milliseconds) override { s_->probes.push_back(id); }
  void set_busy(bool busy) override { s_->busy = busy; }
  void stop() noexcept override { s_->sink = nullptr; }

private:
  std::shared_ptr<fake_producer_state> s_;
};

// ---- consumer --------------------------------------------------------------------------------

struct fake_consumer_state {
  boost::asio::any_io_executor ex{};
  detail::consumer_events* sink = nullptr;
  std::vector<std::string> subscribed{};
  std::vector<std::vector<detail::topic_partition>> assigned, unassigned;
  std::vector<std::vector<detail::partition_offset>> commits{};  // every commit asked for
  bool auto_commit_ok = true;  // answer each commit with success (posted)
  std::map<std::pair<std::string, std::int32_t>, bool> held{};
  std::map<std::pair<std::string, std::int32_t>, std::size_t> prefetched{};  // what a held partition has fetched
  std::vector<std::pair<std::string, std::int32_t>> trims{};                // every held partition stopped
  std::size_t trim_looks = 0;                                                // trim_held calls
  std::vector<std::size_t> trim_limits{};                                    // the limit of each call
  std::map<std::pair<std::string, std::int32_t>, std::pair<std::int64_t, std::int64_t>> watermarks{};  // low, high
  bool closing = false;
  bool closed = false;

  template <class F>
  void post(F f) {
    boost::asio::post(ex, [this, f = std::move(f)]() mutable {
      if (sink) f(*sink);
    });
  }
  void assign(std::vector<detail::topic_partition> parts) {
    post([parts](detail::consumer_events& s) { s.on_assigned(parts); });
  }
  void revoke(std::vector<detail::topic_partition> parts, bool lost = false) {
    post([parts, lost](detail::consumer_events& s) { s.on_revoked(parts, lost); });
  }
  void record(record_data d) {
    post([d = std::move(d)](detail::consumer_events& s) mutable { s.on_record(consumed_record(std::move(d))); });
  }
  void answer_commit(std::vector<detail::partition_offset> offsets, boost::system::error_code ec = {}) {
    for (auto& o : offsets) o.ec = ec;
    post([offsets, ec](detail::consumer_events& s) { s.on_commit_result(ec, offsets); });
  }
  // The highest offset committed for a partition (what a restart would resume from).
  std::int64_t committed(const std::string& topic, std::int32_t partition) const {
    std::int64_t best = -1;
    for (const auto& c : commits)
      for (const auto& o : c)
        if (o.topic == topic && o.partition == partition) best = std::max(best, o.offset);
    return best;
  }
};

class fake_consumer_port final : public detail::consumer_port {
public:
  explicit fake_consumer_port(std::shared_ptr<fake_consumer_state> s) : s_(std::move(s)) {}
  void start(detail::consumer_events& sink) override { s_->sink = &sink; }
  boost::system::error_code subscribe(const std::vector<std::string>& topics) override {
    s_->subscribed = topics;
    return {};
  }
  boost::system::error_code assign(const std::vector<detail::topic_partition>& parts) override {
    s_->assigned.push_back(parts);
    return {};
  }
  boost::system::error_code unassign(const std::vector<detail::topic_partition>& parts) override {
    s_->unassigned.push_back(parts);
    if (s_->closing) s_->closed = true;  // the revocation close() caused is over
    return {};
  }
  boost::system::error_code commit(const std::vector<detail::partition_offset>& offsets) override {
    s_->commits.push_back(offsets);
    if (s_->auto_commit_ok) s_->answer_commit(offsets);
    return {};
  }
  void hold(std::string_view topic, std::int32_t partition, bool held) override {
    s_->held[{std::string(topic), partition}] = held;
  }
  bool trim_held(std::string_view topic, std::int32_t partition, std::size_t max_records) override {
    const std::pair<std::string, std::int32_t> key{std::string(topic), partition};
    ++s_->trim_looks;
    s_->trim_limits.push_back(max_records);
    if (!s_->held[key] || s_->prefetched[key] <= max_records) return false;
    s_->prefetched[key] = 0;
    s_->trims.push_back(key);
    return true;
  }
  std::optional<std::pair<std::int64_t, std::int64_t>> watermarks(std::string_view topic, std::int32_t partition) const override {
    auto it = s_->watermarks.find({std::string(topic), partition});
    if (it == s_->watermarks.end()) return std::nullopt;
    return it->second;
  }
  boost::system::error_code close() override {
    s_->closing = true;
    // Leaving the group revokes what is assigned.
    std::vector<detail::topic_partition> all;
    if (!s_->assigned.empty()) all = s_->assigned.back();
    if (all.empty()) s_->closed = true;
    else s_->revoke(all);
    return {};
  }
  bool closed() const override { return s_->closed; }
  std::chrono::steady_clock::time_point last_poll() const override { return std::chrono::steady_clock::now(); }
  void set_busy(bool) override {}
  void poke() override {}
  void stop() noexcept override { s_->sink = nullptr; }

private:
  std::shared_ptr<fake_consumer_state> s_;
};

}  // namespace txova::kafka::test
