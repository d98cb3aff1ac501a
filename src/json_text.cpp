#include <txova/kafka/detail/json_text.hpp>

#include "precise_json_parser.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <forward_list>
#include <charconv>
#include <cmath>
#include <unordered_set>
#include <vector>
#include <cstdio>

namespace txova::kafka::detail {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlongs, surrogates
// and code points above U+10FFFF are invalid, as in Go's utf8.DecodeRune).
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const std::size_t left = s.size() - i;
  const auto cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c < 0x80) { cp = c; return 1; }
  if (c >= 0xC2 && c <= 0xDF && cont(1)) { cp = ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu); return 2; }
  if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
    cp = ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    cp = ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    return 4;
  }
  return 0;
}

// The keys seen in one object: a vector while small (most objects), a hash set once large, so a
// hostile object with 100k keys costs linear time, not quadratic.
class key_set {
public:
  bool insert(std::string_view key) {
    if (!large_.empty()) return large_.insert(key).second;
    if (std::find(small_.begin(), small_.end(), key) != small_.end()) return false;
    small_.push_back(key);
    if (small_.size() > 16) {
      large_.insert(small_.begin(), small_.end());
      small_.clear();
    }
    return true;
  }

private:
  // Views into the text (or into the scanner's decoded keys): no allocation for small objects,
  // which matters because every published payload is scanned.
  boost::container::small_vector<std::string_view, 16> small_;
  std::unordered_set<std::string_view> large_;
};

// Scans JSON text that Boost.JSON already accepted, so it only needs to find boundaries.
class scanner {
public:
  explicit scanner(std::string_view s) : s_(s) {}

  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  // Skips a string token starting at '"'; returns the token including quotes.
  std::string_view string_token() {
    const std::size_t start = i_++;
    while (s_[i_] != '"') i_ += (s_[i_] == '\\') ? 2 : 1;
    ++i_;
    return s_.substr(start, i_ - start);
  }
  // Skips one value; reports the path of the first duplicate key in `dup` (if any).
  void value(std::string& dup, std::string& path) {
    ws();
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      key_set keys;
      ws();
      if (s_[i_] == '}') { ++i_; return; }
      for (;;) {
        ws();
        const std::string_view key = key_view(string_token());
        if (dup.empty() && !keys.insert(key)) dup = path.empty() ? std::string(key) : path + "." + std::string(key);
        ws();
        ++i_;  // ':'
        const std::size_t mark = path.size();
        if (!path.empty()) path += '.';
        path += key;
        value(dup, path);
        path.resize(mark);
        ws();
        if (s_[i_++] == '}') return;
      }
    }
    if (c == '[') {
      ++i_;
      ws();
      if (s_[i_] == ']') { ++i_; return; }
      for (std::size_t n = 0;; ++n) {
        const std::size_t mark = path.size();
        path += '[' + std::to_string(n) + ']';
        value(dup, path);
        path.resize(mark);
        ws();
        if (s_[i_++] == ']') return;
      }
    }
    if (c == '"') { string_token(); return; }
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ' &&
           s_[i_] != '\t' && s_[i_] != '\n' && s_[i_] != '\r')
      ++i_;  // number, true, false, null
  }

  std::size_t pos() const { return i_; }
  void advance() { ++i_; }
  char peek() const { return s_[i_]; }

  // The key a token stands for: a view of the text, or of a decoded copy the scanner keeps when
  // the key has escapes ("a" and "\u0061" are the same key).
  std::string_view key_view(std::string_view token) {
    if (token.find('\\') == std::string_view::npos) return token.substr(1, token.size() - 2);
    return decoded_.emplace_front(decode_key(token));
  }

  static std::string decode_key(std::string_view token) {
    if (token.find('\\') == std::string_view::npos) return std::string(token.substr(1, token.size() - 2));
    return std::string(boost::json::parse(token).as_string());
  }

private:
  std::string_view s_;
  std::size_t i_ = 0;
  // Stable addresses for key_view; a forward_list allocates nothing until a key has escapes (a
  // deque allocates on construction, and a scanner runs for every publish).
  std::forward_list<std::string> decoded_;
};

std::string preview(std::string_view s, std::size_t max = 64) {
  std::string out;
  if (s.size() <= max) {
    append_quoted(out, s);
  } else {
    append_quoted(out, s.substr(0, max));
    out.insert(out.size() - 1, "...");
  }
  return out;
}

}  // namespace

namespace {
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

boost::system::result<boost::json::value, diagnostic> parse_strict(std::string_view text,
                                                                   const json_limits& limits,
                                                                   std::string_view what,
                                                                   boost::json::storage_ptr storage) {
  const std::string name(what);
  if (text.size() > limits.max_bytes)
    return make_diagnostic(error::too_large, name,
                           name + " is " + std::to_string(text.size()) + " bytes, over the " +
                               std::to_string(limits.max_bytes) + "-byte limit");
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {  // ASCII, the common case
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(text, i, cp);
    if (n == 0) {
      char byte[5];
      std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[i]));
      return make_diagnostic(error::invalid_json, name,
                             name + " is not valid UTF-8: byte " + byte + " at offset " + std::to_string(i));
    }
    i += n;
  }

  boost::json::parse_options opts;
  opts.max_depth = limits.max_depth;
  boost::system::error_code ec;
  unsigned char temp[2048];  // the parser's scratch space: no allocation for ordinary documents
  precise_json_parser parser(opts, temp, sizeof temp);  // doubles correctly rounded (see its header)
  parser.reset(std::move(storage));
  const std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && parser.done()) {
    // A complete document and then more: nothing may follow it but whitespace.
    const std::size_t rest = text.find_first_not_of(" \t\r\n", consumed);
    if (rest != std::string_view::npos)
      return make_diagnostic(error::invalid_json, name,
                             name + " is not valid JSON: " + std::to_string(text.size() - rest) + " byte(s) follow its document, at offset " +
                                 std::to_string(rest) + " near " + preview(text.substr(rest, 24), 24));
  }
  if (!ec) parser.finish(ec);
  if (ec) {
    if (ec == boost::json::error::too_deep)
      return make_diagnostic(error::too_deep, name,
                             name + " nests deeper than " + std::to_string(limits.max_depth) +
                                 " levels (at offset " + std::to_string(consumed) + ")");
    std::string msg;
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
      msg = name + " is empty, not JSON";
    else if (consumed >= text.size())
      msg = name + " is not valid JSON: it ends after " + std::to_string(text.size()) + " bytes, before the document is complete";
    else
      msg = name + " is not valid JSON: " + ec.message() + " at offset " + std::to_string(consumed) + " near " +
            preview(text.substr(consumed, 24), 24);
    return make_diagnostic(error::invalid_json, name, std::move(msg));
  }
  boost::json::value v = parser.release();

  std::string dup, path;
  scanner sc(text);
  sc.value(dup, path);
  if (!dup.empty()) {
    std::string field = name + "." + dup;
    return make_diagnostic(error::duplicate_key, field,
                           name + " has the key \"" + dup + "\" more than once; a key may appear only once");
  }
  return v;
}

boost::system::result<boost::json::value, diagnostic> parse_accepted(std::string_view text, std::string_view what,
                                                                     boost::json::storage_ptr storage) {
  boost::json::parse_options opts;
  opts.max_depth = 1024;  // the first read applied the caller's limit
  boost::system::error_code ec;
  unsigned char temp[2048];
  precise_json_parser parser(opts, temp, sizeof temp);
  parser.reset(std::move(storage));
  parser.write_some(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {  // not what parse_strict accepted after all: say so as it would
    const std::string name(what);
    return make_diagnostic(error::invalid_json, name, name + " is not valid JSON: " + ec.message());
  }
  return parser.release();
}

std::string_view raw_member(std::string_view text, std::string_view key) {
  scanner sc(text);
  sc.ws();
  if (sc.pos() >= text.size() || sc.peek() != '{') return {};
  sc.advance();
  sc.ws();
  if (sc.peek() == '}') return {};
  std::string scratch_dup, scratch_path;
  for (;;) {
    sc.ws();
    const std::string k = scanner::decode_key(sc.string_token());
    sc.ws();
    sc.advance();  // ':'
    sc.ws();
    const std::size_t start = sc.pos();
    sc.value(scratch_dup, scratch_path);
    if (k == key) return text.substr(start, sc.pos() - start);
    sc.ws();
    if (sc.peek() == '}') return {};
    sc.advance();  // ','
  }
}

std::string describe_value(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return v.get_bool() ? "boolean true" : "boolean false";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: {
      std::string s = "number ";
      append_value(s, v);
      return s;
    }
    case boost::json::kind::string: return "string " + preview(v.get_string());
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
  }
  return "a value";
}

bool is_valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace txova::kafka::detail
