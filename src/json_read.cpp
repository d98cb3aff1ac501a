// Reading untrusted JSON text strictly (json_text.hpp): limits, UTF-8, duplicate keys.
#include <txova/kafka/detail/json_text.hpp>

#include "precise_json_parser.hpp"
#include "utf8.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cstdio>
#include <forward_list>
#include <string>
#include <unordered_set>

namespace txova::kafka::detail {
namespace {

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
