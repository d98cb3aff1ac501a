#include <txova/kafka/router.hpp>

#include <txova/kafka/detail/json_text.hpp>

namespace txova::kafka::detail {
namespace {

bool valid_segment(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace

diagnostic check_route_pattern(std::string_view pattern) {
  std::string quoted;
  append_quoted(quoted, pattern);
  const auto bad = [&](std::string why) {
    return make_diagnostic(error::invalid_config, "route", "route pattern " + quoted + " " + std::move(why));
  };
  if (pattern == "*") return {};
  if (pattern.empty()) return bad("is empty");
  std::string_view rest = pattern;
  for (;;) {
    const auto dot = rest.find('.');
    const std::string_view seg = rest.substr(0, dot);
    if (seg == "*") {
      if (dot != std::string_view::npos) return bad("has \"*\" before the last segment; only a trailing \"*\" is allowed");
      return {};
    }
    if (!valid_segment(seg)) return bad("has a segment that is not lowercase letters, digits or '_'");
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
  }
  if (pattern.find('.') == std::string_view::npos) return bad("is not domain.action, domain.* or *");
  return {};
}

int route_rank(std::string_view pattern, std::string_view type) noexcept {
  if (pattern == type) return 1000;  // exact: above every wildcard
  if (pattern == "*") return 0;
  if (!pattern.ends_with(".*")) return -1;
  const std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // keeps the '.'
  if (!type.starts_with(prefix) || type.size() == prefix.size()) return -1;
  int segments = 0;
  for (char c : prefix) segments += c == '.';
  return segments;  // "user.*" -> 1, "a.b.*" -> 2
}

}  // namespace txova::kafka::detail
