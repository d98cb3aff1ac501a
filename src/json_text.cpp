// Writing JSON text as Go's encoding/json does (json_read.cpp reads it).
#include <txova/kafka/detail/json_text.hpp>

#include "utf8.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace txova::kafka::detail {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

constexpr bool needs_care(unsigned char c) noexcept {
  return c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&';
}
}  // namespace

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    // Runs of printable ASCII that need no escaping are copied in one append (the common case:
    // ids, types, timestamps): this function dominated the publish path before.
    std::size_t run = i;
    while (run < s.size() && !needs_care(static_cast<unsigned char>(s[run]))) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out.push_back(hex_digits[c >> 4]);
            out.push_back(hex_digits[c & 0xF]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(s, i, cp);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (cp == 0x2028 || cp == 0x2029) {
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
      i += n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out.push_back('"');
}

void append_number(std::string& out, std::int64_t v) {
  std::array<char, 24> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void append_number(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void append_number(std::string& out, double v) {
  // encoding/json: 'f' unless the magnitude is below 1e-6 or at least 1e21, then 'e' with the
  // exponent's leading zero dropped (1e-07 -> 1e-7); shortest digits that round-trip.
  std::array<char, 64> buf{};
  const double mag = std::fabs(v);
  const bool sci = mag != 0 && (mag < 1e-6 || mag >= 1e21);
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v,
                         sci ? std::chars_format::scientific : std::chars_format::fixed);
  std::string_view text(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
  if (sci && text.size() >= 4 && text[text.size() - 4] == 'e' && text[text.size() - 3] == '-' &&
      text[text.size() - 2] == '0') {
    out.append(text.substr(0, text.size() - 2));
    out.push_back(text.back());
    return;
  }
  out.append(text);
}

void append_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: append_number(out, v.get_int64()); break;
    case boost::json::kind::uint64: append_number(out, v.get_uint64()); break;
    case boost::json::kind::double_: append_number(out, v.get_double()); break;
    case boost::json::kind::string: append_quoted(out, v.get_string()); break;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_value(out, e);
      }
      out.push_back(']');
      break;
    }
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_quoted(out, kv.key());
        out.push_back(':');
        append_value(out, kv.value());
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace txova::kafka::detail
