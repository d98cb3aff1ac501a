// W3C Trace Context: parsing and writing traceparent/tracestate, and fresh span ids.
#include <txova/kafka/trace_context.hpp>

#include <algorithm>
#include <random>

namespace txova::kafka {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

template <std::size_t N>
void append_hex(std::string& out, const std::array<std::uint8_t, N>& bytes) {
  for (std::uint8_t b : bytes) {
    out.push_back(hex_digits[b >> 4]);
    out.push_back(hex_digits[b & 15]);
  }
}

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
  std::string s;
  s.reserve(2 * N);
  append_hex(s, bytes);
  return s;
}

// Lowercase only: the standard refuses uppercase hex.
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <std::size_t N>
bool read_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) noexcept {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& out) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t r = rng();
      for (std::size_t j = i; j < std::min(N, i + 8); ++j, r >>= 8) out[j] = static_cast<std::uint8_t>(r);
    }
  } while (all_zero(out));
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whole list members, up to 32 of them and 255 bytes in all: the rest are dropped from the right.
std::string fitted_state(std::string_view state) {
  std::string out;
  std::size_t members = 0;
  while (!state.empty() && members < 32) {
    const std::size_t comma = state.find(',');
    const std::string_view member = trim(state.substr(0, comma));
    state = comma == std::string_view::npos ? std::string_view{} : state.substr(comma + 1);
    if (member.empty()) continue;
    const std::size_t needed = member.size() + (out.empty() ? 0 : 1);
    if (out.size() + needed > 255) break;
    if (!out.empty()) out.push_back(',');
    out.append(member);
    ++members;
  }
  return out;
}

}  // namespace

bool trace_context::valid() const noexcept { return !all_zero(trace_id) && !all_zero(span_id); }
bool trace_context::has_parent() const noexcept { return !all_zero(parent_span_id); }

std::string trace_context::traceparent() const {
  std::string s;
  s.reserve(55);
  s.append("00-");
  append_hex(s, trace_id);
  s.push_back('-');
  append_hex(s, span_id);
  s.push_back('-');
  s.push_back(hex_digits[flags >> 4]);
  s.push_back(hex_digits[flags & 15]);
  return s;
}

std::string trace_context::trace_id_hex() const { return hex(trace_id); }
std::string trace_context::span_id_hex() const { return hex(span_id); }
std::string trace_context::parent_span_id_hex() const { return hex(parent_span_id); }

trace_context trace_context::child() const {
  trace_context c = *this;
  c.parent_span_id = span_id;
  fill_random(c.span_id);
  return c;
}

trace_context trace_context::new_root(bool sampled) {
  trace_context t;
  fill_random(t.trace_id);
  fill_random(t.span_id);
  t.flags = sampled ? 1 : 0;
  return t;
}

std::optional<trace_context> trace_context::parse(std::string_view traceparent, std::string_view tracestate) {
  const std::string_view s = trim(traceparent);
  if (s.size() < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-') return std::nullopt;
  std::array<std::uint8_t, 1> version{}, flags{};
  if (!read_hex(s.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may add fields after a '-'.
  if (version[0] == 0 ? s.size() != 55 : (s.size() > 55 && s[55] != '-')) return std::nullopt;
  trace_context t;
  if (!read_hex(s.substr(3, 32), t.trace_id) || !read_hex(s.substr(36, 16), t.span_id) ||
      !read_hex(s.substr(53, 2), flags))
    return std::nullopt;
  if (!t.valid()) return std::nullopt;
  t.flags = flags[0];
  t.state = fitted_state(tracestate);
  return t;
}

namespace detail {

void set_trace_headers(std::vector<std::pair<std::string, std::string>>& headers, const trace_context& t) {
  std::erase_if(headers, [](const auto& h) { return h.first == trace_headers::traceparent || h.first == trace_headers::tracestate; });
  headers.emplace_back(trace_headers::traceparent, t.traceparent());
  if (!t.state.empty()) headers.emplace_back(trace_headers::tracestate, t.state.str());
}

void keep_one_trace_header(std::vector<std::pair<std::string, std::string>>& headers) {
  bool parent = false, state = false;
  std::erase_if(headers, [&](const auto& h) {
    bool& seen = h.first == trace_headers::traceparent ? parent : state;
    if (h.first != trace_headers::traceparent && h.first != trace_headers::tracestate) return false;
    if (seen) return true;
    seen = true;
    return false;
  });
}

std::optional<trace_context> trace_from_headers(std::optional<std::string_view> traceparent,
                                                std::optional<std::string_view> tracestate, bool& malformed) {
  malformed = false;
  if (!traceparent) return std::nullopt;
  auto t = trace_context::parse(*traceparent, tracestate.value_or(std::string_view{}));
  malformed = !t;
  return t;
}

}  // namespace detail
}  // namespace txova::kafka
