#include "cli.hpp"

#include <txova/kafka/detail/base64.hpp>
#include <txova/kafka/detail/json_text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <unistd.h>

namespace txova::cli {
namespace {

// -X prop=value, validated here so the message names the option.
void apply_properties(const global_options& g, std::map<std::string, std::string>& out) {
  for (const auto& p : g.properties) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) throw cli_error("-X \"" + p + "\" is not prop=value");
    out[p.substr(0, eq)] = p.substr(eq + 1);
  }
}

template <class Config>
Config checked(boost::system::result<Config, kafka::diagnostic> c, const global_options& g) {
  if (!c) throw cli_error("configuration: " + c.error().message);
  if (!g.brokers.empty()) c->brokers = g.brokers;
  if (c->brokers.empty()) throw cli_error("no brokers: pass -b host:port or set KAFKA_BROKERS", 2);
  apply_properties(g, c->properties);
  return std::move(*c);
}

void put_bytes(boost::json::object& o, std::string_view name, std::string_view bytes) {
  if (kafka::detail::is_valid_utf8(bytes)) o[name] = bytes;
  else o[std::string(name) + "_base64"] = kafka::detail::base64(bytes);
}

std::optional<std::string> get_bytes(const boost::json::object& o, std::string_view name, std::size_t line) {
  if (const auto* v = o.if_contains(name)) {
    if (v->is_null()) return std::nullopt;
    if (!v->is_string()) throw cli_error("line " + std::to_string(line) + ": \"" + std::string(name) + "\" is not a string or null");
    return std::string(v->as_string());
  }
  const std::string b64 = std::string(name) + "_base64";
  if (const auto* v = o.if_contains(b64)) {
    if (!v->is_string()) throw cli_error("line " + std::to_string(line) + ": \"" + b64 + "\" is not a string");
    auto bytes = kafka::detail::base64_decode(v->as_string());
    if (!bytes) throw cli_error("line " + std::to_string(line) + ": \"" + b64 + "\" is not base64");
    return bytes;
  }
  return std::nullopt;
}

}  // namespace

kafka::consumer_config consumer_config_from(const global_options& g) {
  auto c = checked(kafka::consumer_config::from_env(), g);
  c.service = "txova-cli";
  c.statistics_interval = std::chrono::milliseconds(0);
  return c;
}

kafka::producer_config producer_config_from(const global_options& g) {
  auto c = checked(kafka::producer_config::from_env(), g);
  c.client_id = "txova-cli";
  c.delivery_timeout = std::chrono::seconds(g.timeout_s);
  c.statistics_interval = std::chrono::milliseconds(0);
  return c;
}

kafka::admin_config admin_config_from(const global_options& g) {
  auto c = checked(kafka::admin_config::from_env(kafka::environment()), g);
  c.request_timeout = c.operation_timeout = std::chrono::seconds(g.timeout_s);
  return c;
}

std::string unreachable(const global_options& g, const std::string& brokers, const std::string& reason) {
  return "could not reach the brokers " + brokers + " within " + std::to_string(g.timeout_s) + " s (--timeout): " + reason;
}

std::string record_json(const kafka::consumed_record& r) {
  boost::json::object o;
  o["topic"] = r.topic();
  o["partition"] = r.partition();
  o["offset"] = r.offset();
  o["timestamp"] = std::chrono::duration_cast<std::chrono::milliseconds>(r.broker_time().time_since_epoch()).count();
  if (r.has_key()) put_bytes(o, "key", r.key());
  else o["key"] = nullptr;
  boost::json::array headers;
  for (const auto& [k, v] : r.headers()) {
    boost::json::object h;
    put_bytes(h, "key", k);
    put_bytes(h, "value", v);
    headers.push_back(std::move(h));
  }
  o["headers"] = std::move(headers);
  if (r.is_tombstone()) o["value"] = nullptr;
  else put_bytes(o, "value", r.value());
  return boost::json::serialize(o);
}

kafka::record_data parse_record_json(std::string_view line, std::size_t n) {
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) throw cli_error("line " + std::to_string(n) + ": not a JSON object (" + (ec ? ec.message() : "another JSON value") + ")");
  const auto& o = v.as_object();
  kafka::record_data d;
  const auto* topic = o.if_contains("topic");
  if (!topic || !topic->is_string()) throw cli_error("line " + std::to_string(n) + ": \"topic\" is missing or not a string");
  d.topic = std::string(topic->as_string());
  if (const auto* p = o.if_contains("partition"); p && p->is_int64()) d.partition = static_cast<std::int32_t>(p->as_int64());
  else d.partition = -1;
  d.key = get_bytes(o, "key", n);
  d.value = get_bytes(o, "value", n);
  if (const auto* hs = o.if_contains("headers")) {
    if (!hs->is_array()) throw cli_error("line " + std::to_string(n) + ": \"headers\" is not an array");
    for (const auto& h : hs->as_array()) {
      if (!h.is_object()) throw cli_error("line " + std::to_string(n) + ": a header is not an object");
      auto k = get_bytes(h.as_object(), "key", n);
      if (!k) throw cli_error("line " + std::to_string(n) + ": a header has no key");
      d.headers.emplace_back(std::move(*k), get_bytes(h.as_object(), "value", n).value_or(""));
    }
  }
  return d;
}

void progress::tick(std::uint64_t n, std::uint64_t total) {
  const auto now = std::chrono::steady_clock::now();
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (now - last_ < (tty ? std::chrono::milliseconds(100) : std::chrono::seconds(1))) return;
  last_ = now;
  const double s = std::chrono::duration<double>(now - started_).count();
  if (total) std::fprintf(stderr, "%s%s %llu of %llu (%.0f/s)%s", tty ? "\r" : "", what_.c_str(), static_cast<unsigned long long>(n),
                          static_cast<unsigned long long>(total), s > 0 ? n / s : 0.0, tty ? "" : "\n");
  else std::fprintf(stderr, "%s%s %llu (%.0f/s)%s", tty ? "\r" : "", what_.c_str(), static_cast<unsigned long long>(n),
                    s > 0 ? n / s : 0.0, tty ? "" : "\n");
  std::fflush(stderr);
}

void progress::done(std::uint64_t n) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::fprintf(stderr, "%s%s %llu in %.1f s\n", isatty(STDERR_FILENO) ? "\r" : "", what_.c_str(), static_cast<unsigned long long>(n), s);
}

}  // namespace txova::cli
