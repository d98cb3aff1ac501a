#include <txova/kafka/catalog.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/detail/publish_check.hpp>

#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include <algorithm>

namespace txova::kafka {

void catalog::add(const event_info& info, payload_check check) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const event_info& e) { return e.type == info.type; });
  if (it != entries_.end()) {
    *it = info;
    checks_[static_cast<std::size_t>(it - entries_.begin())] = check;
    return;
  }
  entries_.push_back(info);
  checks_.push_back(check);
}

payload_check catalog::checker(std::string_view type) const noexcept {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const event_info& e) { return e.type == type; });
  return it == entries_.end() ? nullptr : checks_[static_cast<std::size_t>(it - entries_.begin())];
}

const event_info* catalog::find(std::string_view type) const noexcept {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const event_info& e) { return e.type == type; });
  return it == entries_.end() ? nullptr : &*it;
}

const catalog& txova_catalog() {
  static const catalog instance = [] {
    catalog c;
    boost::mp11::mp_for_each<boost::mp11::mp_transform<boost::mp11::mp_identity, events::all>>(
        [&](auto t) { c.template add<typename decltype(t)::type>(); });
    return c;
  }();
  return instance;
}

std::string dlq_topic(std::string_view topic) {
  std::string out(topic);
  out += topics::dlq_suffix;
  return out;
}

std::optional<std::string_view> topic_for(std::string_view type) {
  if (const event_info* e = txova_catalog().find(type)) return e->topic;
  return std::nullopt;
}

topic_map& topic_map::route(std::string_view type, std::string_view topic) {
  overrides_.insert_or_assign(std::string(type), std::string(topic));
  return *this;
}

topic_map& topic_map::default_topic(std::string_view topic) {
  default_ = std::string(topic);
  return *this;
}

boost::system::result<std::string, diagnostic> topic_map::resolve(std::string_view type) const {
  auto v = resolve_view(type);
  if (!v) return v.error();
  return std::string(*v);
}

boost::system::result<std::string_view, diagnostic> topic_map::resolve_view(std::string_view type) const {
  if (auto it = overrides_.find(type); it != overrides_.end()) return std::string_view(it->second);
  if (const event_info* e = catalog_->find(type)) return std::string_view(e->topic);
  if (default_) return std::string_view(*default_);
  std::string msg = "event type ";
  detail::append_quoted(msg, type);
  msg += " has no topic: it is not in the catalog, not routed, and no default topic is set";
  return make_diagnostic(error::unknown_event_type, "type", std::move(msg));
}

namespace detail {
boost::system::result<std::string, diagnostic> key_of(const boost::json::object& payload, std::string_view type,
                                                      const event_info& info) {
  const auto type_text = [&] {  // only for messages: this runs on every publish
    std::string t;
    detail::append_quoted(t, type);
    return t;
  };
  for (std::string_view field : {info.key, info.fallback_key}) {
    if (field.empty()) continue;
    const boost::json::value* v = payload.if_contains(field);
    if (!v || v->is_null()) continue;
    if (v->is_string() && !v->get_string().empty()) return std::string(v->get_string());
    return make_diagnostic(error::no_partition_key, "payload." + std::string(field),
                           "payload." + std::string(field) + " is the partition key of " + type_text() +
                               " and must be a non-empty string, got " + detail::describe_value(*v));
  }
  std::string msg = "payload of " + type_text() + " has no partition key: payload." + std::string(info.key) + " is missing";
  if (!info.fallback_key.empty()) msg += ", and so is payload." + std::string(info.fallback_key);
  return make_diagnostic(error::no_partition_key, "payload." + std::string(info.key), std::move(msg));
}

diagnostic not_in_catalog(std::string_view type) {
  std::string type_text;
  detail::append_quoted(type_text, type);
  return make_diagnostic(error::unknown_event_type, "type",
                         "event type " + type_text + " is not in the catalog, so it has no partition key field");
}
}  // namespace detail

boost::system::result<std::string, diagnostic> partition_key(const envelope& e, const catalog& c) {
  const event_info* info = c.find(e.type);
  if (!info) return detail::not_in_catalog(e.type);
  auto payload = detail::parse_strict(e.payload, {}, "payload");
  if (!payload) return payload.error();
  if (!payload->is_object())
    return make_diagnostic(error::wrong_type, "payload",
                           "payload must be a JSON object, got " + detail::describe_value(*payload));
  return detail::key_of(payload->get_object(), e.type, *info);
}

}  // namespace txova::kafka
