#include <txova/kafka/envelope.hpp>
#include <txova/kafka/detail/publish_check.hpp>
#include <txova/kafka/detail/envelope_json.hpp>

#include <txova/kafka/detail/json_text.hpp>

#include "envelope_reader.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <array>
#include <tuple>

namespace txova::kafka {
namespace {

std::string quoted(std::string_view s) {
  std::string out;
  detail::append_quoted(out, s);
  return out;
}

diagnostic invalid(std::string_view field, std::string_view value, std::string_view why) {
  return make_diagnostic(error::invalid_field, std::string(field),
                         std::string(field) + " " + quoted(value) + " " + std::string(why));
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_lower_segment_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

diagnostic check_uuid_v4(std::string_view field, std::string_view s) {
  bool shape = s.size() == 36;
  for (std::size_t i = 0; shape && i < s.size(); ++i)
    shape = (i == 8 || i == 13 || i == 18 || i == 23) ? s[i] == '-' : is_hex(s[i]);
  if (!shape) return invalid(field, s, "is not a UUID (8-4-4-4-12 hex digits)");
  const char variant = static_cast<char>(s[19] | 0x20);
  if (s[14] != '4' || !(variant == '8' || variant == '9' || variant == 'a' || variant == 'b'))
    return invalid(field, s, "is not a version 4 (random) UUID");
  return {};
}

diagnostic check_type(std::string_view s) {
  const auto dot = s.find('.');
  const auto segment_ok = [](std::string_view seg) {
    return !seg.empty() && seg.front() >= 'a' && seg.front() <= 'z' &&
           std::all_of(seg.begin(), seg.end(), is_lower_segment_char);
  };
  if (dot == std::string_view::npos || !segment_ok(s.substr(0, dot)) || !segment_ok(s.substr(dot + 1)))
    return invalid("type", s,
                   "is not domain.action (two segments of lowercase letters, digits and '_', e.g. "
                   "ride.completed)");
  return {};
}

diagnostic check_version(std::string_view s) {
  if (!major_version(s)) return invalid("version", s, "is not major.minor");
  return {};
}

diagnostic check_nonempty(std::string_view field, std::string_view s) {
  if (s.empty()) return make_diagnostic(error::invalid_field, std::string(field), std::string(field) + " is empty");
  return {};
}

diagnostic check_actor(const actor& a, bool strict) {
  if (auto d = check_nonempty("actor.id", a.id)) return d;
  if (auto d = check_nonempty("actor.type", a.type)) return d;
  if (strict && !known_actor_type(a.type)) return invalid("actor.type", a.type, "is not one of user, system, admin");
  return {};
}

// Every check except the payload's, which needs a parse the caller may already have done.
diagnostic check_fields(const envelope& e, bool strict = true) {
  if (auto d = check_uuid_v4("id", e.id)) return d;
  if (auto d = check_type(e.type)) return d;
  if (auto d = check_version(e.version)) return d;
  if (auto d = check_nonempty("source", e.source)) return d;
  if (auto d = check_nonempty("correlation_id", e.correlation_id)) return d;
  if (e.causation_id)
    if (auto d = check_nonempty("causation_id", *e.causation_id)) return d;
  if (e.actor)
    if (auto d = check_actor(*e.actor, strict)) return d;
  return {};
}

diagnostic payload_not_object(const boost::json::value& v) {
  return make_diagnostic(error::wrong_type, "payload",
                         "payload must be a JSON object, got " + detail::describe_value(v));
}

// Reads a string member; nullopt when absent or null (absence is the caller's to judge).
boost::system::result<std::optional<std::string>, diagnostic> string_member(const boost::json::object& obj,
                                                                            std::string_view path,
                                                                            std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string())
    return make_diagnostic(error::wrong_type, std::string(path),
                           std::string(path) + " must be a string, got " + detail::describe_value(*v));
  return std::optional<std::string>(std::string(v->get_string()));
}

diagnostic missing(std::string_view path) {
  return make_diagnostic(error::missing_field, std::string(path), std::string(path) + " is missing");
}

}  // namespace

bool known_actor_type(std::string_view type) noexcept { return type == "user" || type == "system" || type == "admin"; }

std::string new_uuid() {
  // One generator per thread: boost's random_generator is not thread-safe, and seeding is costly.
  thread_local boost::uuids::random_generator gen;
  return boost::uuids::to_string(gen());
}

std::optional<unsigned> major_version(std::string_view s) noexcept {
  const auto dot = s.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto digits_ok = [](std::string_view part) {
    return !part.empty() && part.size() <= 9 &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits_ok(s.substr(0, dot)) || !digits_ok(s.substr(dot + 1))) return std::nullopt;
  unsigned major = 0;
  for (char c : s.substr(0, dot)) major = major * 10 + static_cast<unsigned>(c - '0');
  return major;
}

event_context event_context::caused_by(const envelope& cause, std::string_view source) {
  return event_context{source, cause.correlation_id, context_text(cause.id), std::nullopt};
}

diagnostic event_context::check() const {
  const auto too_long = [](std::string_view field, const context_text& t) {
    return make_diagnostic(error::too_large, "event_context." + std::string(field),
                           "event_context." + std::string(field) + " is longer than " +
                               std::to_string(context_text::capacity()) + " bytes (it begins \"" +
                               std::string(t.view().substr(0, 40)) + "\")");
  };
  if (source.overflowed()) return too_long("source", source);
  if (correlation_id.overflowed()) return too_long("correlation_id", correlation_id);
  if (causation_id && causation_id->overflowed()) return too_long("causation_id", *causation_id);
  if (actor && actor->id.overflowed()) return too_long("actor.id", actor->id);
  if (actor && actor->type.overflowed()) return too_long("actor.type", actor->type);
  return {};
}

envelope make_envelope(std::string_view type, std::string_view version, std::string payload_json,
                       const event_context& ctx) {
  if (auto d = ctx.check()) throw diagnostic_error(std::move(d));
  envelope e;
  e.id = new_uuid();
  e.type = type;
  e.version = version;
  e.source = ctx.source.str();
  e.time = now_utc();
  e.correlation_id = ctx.correlation_id.empty() ? e.id : ctx.correlation_id.str();
  if (ctx.causation_id) e.causation_id = ctx.causation_id->str();
  if (ctx.actor) e.actor = ctx.actor->to_actor();
  e.payload = std::move(payload_json);
  return e;
}

boost::system::result<envelope, diagnostic> parse_envelope(std::string_view json, const envelope_limits& limits) {
  // Well-formed envelopes (nearly all of them) take one pass; the DOM path decides the rest and
  // writes every diagnostic.
  if (json.size() <= limits.max_bytes)
    if (auto fast = detail::read_envelope_fast(json, limits.max_depth)) {
      if (auto d = check_fields(*fast, limits.strict)) return d;
      return std::move(*fast);
    }
  return detail::read_envelope_dom(json, limits);
}

boost::system::result<envelope, diagnostic> detail::read_envelope_dom(std::string_view json, const envelope_limits& limits) {
  auto parsed = detail::parse_strict(json, {limits.max_bytes, limits.max_depth}, "envelope");
  if (!parsed) return parsed.error();
  if (!parsed->is_object())
    return make_diagnostic(error::wrong_type, "envelope",
                           "envelope must be a JSON object, got " + detail::describe_value(*parsed));
  const auto& obj = parsed->get_object();

  envelope e;
  const std::array<std::pair<std::string_view, std::string*>, 5> required{{
      {"id", &e.id}, {"type", &e.type}, {"version", &e.version}, {"source", &e.source},
      {"correlation_id", &e.correlation_id}}};
  for (auto [key, out] : required) {
    auto v = string_member(obj, key, key);
    if (!v) return v.error();
    if (!*v) return missing(key);
    *out = std::move(**v);
  }

  auto ts = string_member(obj, "timestamp", "timestamp");
  if (!ts) return ts.error();
  if (!*ts) return missing("timestamp");
  auto t = parse_timestamp(**ts, "timestamp");
  if (!t) return t.error();
  e.time = *t;

  auto causation = string_member(obj, "causation_id", "causation_id");
  if (!causation) return causation.error();
  e.causation_id = std::move(*causation);

  if (const boost::json::value* a = obj.if_contains("actor"); a && !a->is_null()) {
    if (!a->is_object())
      return make_diagnostic(error::wrong_type, "actor",
                             "actor must be an object, got " + detail::describe_value(*a));
    kafka::actor act;
    for (auto [key, path, out] : {std::tuple{"id", "actor.id", &act.id}, std::tuple{"type", "actor.type", &act.type}}) {
      auto v = string_member(a->get_object(), path, key);
      if (!v) return v.error();
      if (!*v) return missing(path);
      *out = std::move(**v);
    }
    e.actor = std::move(act);
  }

  const boost::json::value* payload = obj.if_contains("payload");
  if (!payload) return missing("payload");
  if (!payload->is_object()) return payload_not_object(*payload);
  e.payload = detail::raw_member(json, "payload");

  if (auto d = check_fields(e, limits.strict)) return d;
  return e;
}

std::string to_json(const envelope& e) {
  std::string out;
  detail::append_envelope_json(out, e);
  return out;
}

void detail::append_envelope_json(std::string& out, const envelope& e) {
  // The fields, their keys and quotes (about 130 bytes), so that ordinary envelopes take one
  // allocation (none when `out` already has the room).
  std::size_t size = e.payload.size() + e.id.size() + e.type.size() + e.version.size() + e.source.size() +
                     e.correlation_id.size() + 160;
  if (e.causation_id) size += e.causation_id->size() + 20;
  if (e.actor) size += e.actor->id.size() + e.actor->type.size() + 30;
  out.reserve(out.size() + size);
  const std::size_t start = out.size();
  const auto field = [&](std::string_view key, std::string_view value) {
    if (out.size() > start + 1) out.push_back(',');
    detail::append_quoted(out, key);
    out.push_back(':');
    detail::append_quoted(out, value);
  };
  out.push_back('{');
  field("id", e.id);
  field("type", e.type);
  field("version", e.version);
  field("source", e.source);
  out += ",\"timestamp\":\"";
  append_timestamp(out, e.time);
  out.push_back('"');
  field("correlation_id", e.correlation_id);
  if (e.causation_id) field("causation_id", *e.causation_id);
  if (e.actor) {
    out += ",\"actor\":{\"id\":";
    detail::append_quoted(out, e.actor->id);
    out += ",\"type\":";
    detail::append_quoted(out, e.actor->type);
    out.push_back('}');
  }
  out += ",\"payload\":";
  out += e.payload;
  out.push_back('}');
}

diagnostic validate(const envelope& e) { return validate(e, envelope_limits{}); }

diagnostic validate(const envelope& e, const envelope_limits& limits) {
  if (auto d = check_fields(e, limits.strict)) return d;
  auto payload = detail::parse_strict(e.payload, {limits.max_bytes, limits.max_depth}, "payload");
  if (!payload) return payload.error();
  if (!payload->is_object()) return payload_not_object(*payload);
  return {};
}

namespace detail {
diagnostic check_envelope_fields(const envelope& e) { return check_fields(e); }

diagnostic validate_for_publish(const envelope& e, const catalog& c, std::string* key) {
  if (auto d = check_fields(e)) return d;
  const event_info* info = key ? c.find(e.type) : nullptr;
  if (key && !info) return not_in_catalog(e.type);
  // The parsed payload lives only here: a stack-backed arena spares the allocator (this runs
  // for every publish).
  unsigned char arena[4096];
  boost::json::monotonic_resource mr(arena, sizeof arena);
  // One pass to accept the payload when it is ordinary, then a DOM without the checks again;
  // parse_strict when it is not, for its diagnostic.
  auto payload = detail::accepted_fast(e.payload, {}) ? detail::parse_accepted(e.payload, "payload", &mr)
                                                      : detail::parse_strict(e.payload, {}, "payload", &mr);
  if (!payload) return payload.error();
  if (!payload->is_object()) return payload_not_object(*payload);
  // The rules of the type's struct, as a typed consumer route would decode it.
  if (const payload_check check = c.checker(e.type))
    if (auto d = check(*payload)) return d;
  if (key) {
    auto k = key_of(payload->get_object(), e.type, *info);
    if (!k) return k.error();
    *key = std::move(*k);
  }
  return {};
}
}  // namespace detail

}  // namespace txova::kafka
