// The test kit's event store (testing/event_store.hpp).
#include <txova/kafka/testing/event_store.hpp>

#include <txova/kafka/router.hpp>

#include <algorithm>
#include <set>

namespace txova::kafka::testing {
namespace {

template <class Keep>
std::vector<stored_record> select(const std::vector<stored_record>& log, Keep keep) {
  std::vector<stored_record> out;
  for (const auto& s : log)
    if (keep(s)) out.push_back(s);
  return out;
}

}  // namespace

stored_record event_store::append(record_data r) {
  stored_record s;
  if (r.value)
    if (auto e = parse_envelope(*r.value)) s.event = std::move(*e);
  std::lock_guard lock(mutex_);
  r.offset = next_offset_[{r.topic, r.partition}]++;
  s.record = std::move(r);
  s.sequence = log_.size();
  log_.push_back(s);
  return s;
}

std::vector<stored_record> event_store::all() const {
  std::lock_guard lock(mutex_);
  return log_;
}

std::vector<stored_record> event_store::in_topic(std::string_view topic) const {
  std::lock_guard lock(mutex_);
  return select(log_, [&](const stored_record& s) { return s.record.topic == topic; });
}

std::vector<stored_record> event_store::in_partition(std::string_view topic, std::int32_t partition) const {
  std::lock_guard lock(mutex_);
  return select(log_, [&](const stored_record& s) { return s.record.topic == topic && s.record.partition == partition; });
}

std::vector<envelope> event_store::events(std::string_view type_pattern) const {
  std::lock_guard lock(mutex_);
  std::vector<envelope> out;
  for (const auto& s : log_)
    if (s.event && detail::route_rank(type_pattern, s.event->type) >= 0) out.push_back(*s.event);
  return out;
}

std::vector<envelope> event_store::with_correlation(std::string_view correlation_id) const {
  std::lock_guard lock(mutex_);
  std::vector<envelope> out;
  for (const auto& s : log_)
    if (s.event && s.event->correlation_id == correlation_id) out.push_back(*s.event);
  return out;
}

std::vector<stored_record> event_store::with_key(std::string_view key) const {
  std::lock_guard lock(mutex_);
  return select(log_, [&](const stored_record& s) { return s.record.key && *s.record.key == key; });
}

std::optional<stored_record> event_store::at(std::string_view topic, std::int32_t partition, std::int64_t offset) const {
  std::lock_guard lock(mutex_);
  for (const auto& s : log_)
    if (s.record.offset == offset && s.record.partition == partition && s.record.topic == topic) return s;
  return std::nullopt;
}

std::vector<envelope> event_store::caused_by(const envelope& e) const {
  std::lock_guard lock(mutex_);
  std::set<std::string, std::less<>> chain{e.id};
  std::vector<envelope> out;
  for (const auto& s : log_) {
    if (!s.event) continue;
    if (s.event->id == e.id || (s.event->causation_id && chain.count(*s.event->causation_id))) {
      chain.insert(s.event->id);
      out.push_back(*s.event);
    }
  }
  return out;
}

std::int64_t event_store::end_offset(std::string_view topic, std::int32_t partition) const {
  std::lock_guard lock(mutex_);
  auto it = next_offset_.find(std::make_pair(std::string(topic), partition));
  return it == next_offset_.end() ? 0 : it->second;
}

std::size_t event_store::size() const {
  std::lock_guard lock(mutex_);
  return log_.size();
}

void event_store::clear() {
  std::lock_guard lock(mutex_);
  log_.clear();
  next_offset_.clear();
}

}  // namespace txova::kafka::testing
