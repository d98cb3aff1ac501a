#include <txova/kafka/cloudevents.hpp>

#include <txova/kafka/detail/json_text.hpp>

#include <boost/json/value.hpp>

namespace txova::kafka::cloudevents {
namespace {

constexpr std::string_view json_type = "application/json";
constexpr std::string_view structured_type = "application/cloudevents+json; charset=UTF-8";

diagnostic bad(std::string field, std::string message) {
  return make_diagnostic(error::invalid_field, std::move(field), "CloudEvent " + std::move(message));
}

bool json_content(std::string_view ct) {
  const std::string_view base = ct.substr(0, ct.find(';'));
  return base.empty() || base == json_type || base.ends_with("+json") || base == "text/json";
}

// The attributes every mode carries, as (name, value); the caller prefixes "ce_" for headers.
std::vector<std::pair<std::string_view, std::string>> attributes(const envelope& e) {
  std::vector<std::pair<std::string_view, std::string>> a{
      {"specversion", "1.0"}, {"id", e.id},       {"source", e.source},
      {"type", e.type},       {"time", format_timestamp(e.time)}, {"schemaversion", e.version},
      {"correlationid", e.correlation_id}};
  if (e.causation_id) a.emplace_back("causationid", *e.causation_id);
  if (e.actor) {
    a.emplace_back("actorid", e.actor->id);
    a.emplace_back("actortype", e.actor->type);
  }
  return a;
}

// Fills an envelope from attribute lookups; `get` answers an attribute's value or nullopt.
template <class Get>
boost::system::result<envelope, diagnostic> to_envelope(Get get, std::string payload) {
  const auto spec = get("specversion");
  if (!spec) return bad("specversion", "has no specversion");
  if (*spec != "1.0") return bad("specversion", "specversion \"" + *spec + "\" is not 1.0");
  envelope e;
  for (auto [name, out] : {std::pair{"id", &e.id}, std::pair{"type", &e.type}, std::pair{"source", &e.source}}) {
    auto v = get(name);
    if (!v || v->empty()) return bad(name, "has no " + std::string(name));
    *out = std::move(*v);
  }
  if (auto t = get("time")) {
    auto ts = parse_timestamp(*t, "time");
    if (!ts) return bad("time", ts.error().message);
    e.time = *ts;
  } else {
    return bad("time", "has no time (the envelope needs when the event happened)");
  }
  e.version = get("schemaversion").value_or("1.0");
  e.correlation_id = get("correlationid").value_or(e.id);
  e.causation_id = get("causationid");
  auto actor_id = get("actorid");
  auto actor_type = get("actortype");
  if (actor_id || actor_type) e.actor = actor{actor_id.value_or(""), actor_type.value_or("")};
  e.payload = std::move(payload);
  return e;
}

}  // namespace

std::pair<headers, std::string> to_binary(const envelope& e) {
  headers h;
  for (auto& [name, value] : attributes(e)) h.emplace_back("ce_" + std::string(name), std::move(value));
  h.emplace_back("content-type", std::string(json_type));
  return {std::move(h), e.payload};
}

std::pair<headers, std::string> to_structured(const envelope& e) {
  std::string out = "{";
  for (const auto& [name, value] : attributes(e)) {
    if (out.size() > 1) out.push_back(',');
    detail::append_quoted(out, name);
    out.push_back(':');
    detail::append_quoted(out, value);
  }
  out += ",\"datacontenttype\":\"application/json\",\"data\":";
  out += e.payload;
  out.push_back('}');
  return {headers{{"content-type", std::string(structured_type)}}, std::move(out)};
}

mode detect(std::string_view content_type, bool has_specversion) noexcept {
  if (content_type.starts_with("application/cloudevents")) return mode::structured;
  if (has_specversion) return mode::binary;
  return mode::none;
}

boost::system::result<envelope, diagnostic> from_binary(const headers& h, std::string_view value) {
  const auto header = [&](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : h)
      if (k == name) return v;
    return std::nullopt;
  };
  const std::string ct = header("content-type").value_or("");
  if (!json_content(ct)) return bad("datacontenttype", "data is \"" + ct + "\", not JSON: it cannot be an envelope payload");
  return to_envelope([&](std::string_view attr) { return header("ce_" + std::string(attr)); }, std::string(value));
}

boost::system::result<envelope, diagnostic> from_structured(std::string_view value) {
  auto doc = detail::parse_strict(value, {value.size() + 1, 64}, "CloudEvent");
  if (!doc) return doc.error();
  if (!doc->is_object()) return bad("", "is not a JSON object");
  const auto& obj = doc->get_object();
  const auto attr = [&](std::string_view name) -> std::optional<std::string> {
    const boost::json::value* v = obj.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
  };
  if (auto ct = attr("datacontenttype"); ct && !json_content(*ct))
    return bad("datacontenttype", "data is \"" + *ct + "\", not JSON: it cannot be an envelope payload");
  if (obj.contains("data_base64")) return bad("data_base64", "carries binary data (data_base64): not an envelope payload");
  const std::string_view data = detail::raw_member(value, "data");
  if (data.empty()) return bad("data", "has no data");
  return to_envelope(attr, std::string(data));
}

}  // namespace txova::kafka::cloudevents
