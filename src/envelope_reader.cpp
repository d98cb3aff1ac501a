// The envelope's fast path: one pass over the text, no DOM, no path strings, one allocation per
// field that does not fit a short string. See envelope_reader.hpp for the contract: anything
// unusual gives up and the DOM path decides, so this only has to be exact on well-formed input.
#include "envelope_reader.hpp"

#include "utf8.hpp"

#include <txova/kafka/timestamp.hpp>

#include <bit>
#include <cstdint>
#include <cstring>

namespace txova::kafka::detail {
namespace {

// Objects with more keys than this go to the DOM path (its key set is hashed beyond 16).
constexpr std::size_t max_fast_keys = 64;
// Nesting the fast path follows itself; deeper documents go to the DOM path.
constexpr unsigned max_fast_depth = 64;

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Eight bytes at once (little-endian): a mask with the high bit set in each byte that is '"',
// '\\', a control character or non-ASCII. Borrows can mark bytes above a marked one, never below,
// so the lowest mark is exact.
static_assert(std::endian::native == std::endian::little, "word_marks reads bytes in little-endian order");
inline std::uint64_t word_marks(std::uint64_t w) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  const auto zero_bytes = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
  const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
  return (w & highs) | below_space | zero_bytes(w ^ (ones * '"')) | zero_bytes(w ^ (ones * '\\'));
}

class reader {
public:
  reader(std::string_view s, unsigned max_depth)
      : p_(s.data()), end_(s.data() + s.size()), max_depth_(std::min(max_depth, max_fast_depth)) {}

  // Any JSON document, checked as strictly as parse_strict checks it (or given up on).
  bool any_document() {
    if (!value(0)) return false;
    ws();
    return p_ == end_;
  }

  std::optional<envelope> document() {
    ws();
    if (!at('{')) return std::nullopt;
    envelope e;
    if (!top_object(e)) return std::nullopt;
    ws();
    if (p_ != end_) return std::nullopt;  // something after the document
    return e;
  }

private:
  bool at(char c) const noexcept { return p_ < end_ && *p_ == c; }
  void ws() noexcept {
    while (p_ < end_ && is_ws(*p_)) ++p_;
  }
  bool eat(char c) noexcept {
    ws();
    if (!at(c)) return false;
    ++p_;
    return true;
  }

  // A string token at '"'. `raw` is its text between the quotes; `escaped` whether it has any
  // backslash (then raw is not its value).
  bool string(std::string_view& raw, bool& escaped) {
    const char* start = ++p_;
    escaped = false;
    for (;;) {
      while (end_ - p_ >= 8) {  // plain text runs: skip to the first byte that needs a look
        std::uint64_t w;
        std::memcpy(&w, p_, 8);
        if (const std::uint64_t marks = word_marks(w)) {
          p_ += std::countr_zero(marks) / 8;
          break;
        }
        p_ += 8;
      }
      if (p_ >= end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c == '\\') {
        escaped = true;
        if (!escape()) return false;
      } else if (c < 0x20) {
        return false;
      } else if (c >= 0x80) {
        char32_t cp = 0;
        const std::size_t n = utf8_sequence(std::string_view(p_, static_cast<std::size_t>(end_ - p_)), 0, cp);
        if (n == 0) return false;
        p_ += n;
      } else {
        ++p_;
      }
    }
    raw = std::string_view(start, static_cast<std::size_t>(p_ - start));
    ++p_;
    return true;
  }

  bool escape() {
    if (end_ - p_ < 2) return false;
    switch (p_[1]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': p_ += 2; return true;
      case 'u': {
        if (end_ - p_ < 6) return false;
        for (int k = 2; k < 6; ++k)
          if (!is_hex(p_[k])) return false;
        // Surrogates must pair up; the DOM path judges those.
        const char first = static_cast<char>(p_[2] | 0x20), second = static_cast<char>(p_[3] | 0x20);
        if (first == 'd' && second >= '8') return false;
        p_ += 6;
        return true;
      }
      default: return false;
    }
  }

  bool number() {
    if (at('-')) ++p_;
    if (at('0')) {
      ++p_;
    } else {
      if (!(p_ < end_ && *p_ >= '1' && *p_ <= '9')) return false;
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (at('.')) {
      ++p_;
      if (!(p_ < end_ && is_digit(*p_))) return false;
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* digits = p_;
      while (p_ < end_ && is_digit(*p_)) ++p_;
      if (p_ == digits || p_ - digits > 6) return false;  // none, or an exponent the DOM path should judge
    }
    return true;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) return false;
    p_ += word.size();
    return true;
  }

  // Any value, checked and skipped; `depth` containers are open around it.
  bool value(unsigned depth) {
    ws();
    if (p_ >= end_) return false;
    switch (*p_) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': {
        std::string_view raw;
        bool escaped = false;
        return string(raw, escaped);
      }
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  // The keys of one object, for duplicates; escaped keys are the DOM path's (two spellings of
  // one key must count as the same key).
  // Left uninitialized on purpose: an array of string_views would be zeroed for every object.
  struct keys {
    const char* data[max_fast_keys];
    std::size_t size[max_fast_keys];
    std::size_t count = 0;
    bool add(std::string_view k) {
      if (count == max_fast_keys) return false;
      for (std::size_t i = 0; i < count; ++i)
        if (size[i] == k.size() && std::memcmp(data[i], k.data(), k.size()) == 0) return false;
      data[count] = k.data();
      size[count++] = k.size();
      return true;
    }
  };

  // At '{' or '[' (already checked by the caller), inside `depth` open containers: calls `member`
  // for each member with its key (objects) and checks the separators. `member` returns false to
  // give up. One level short of the limit already goes to the DOM path, which knows the limit's
  // exact edge.
  template <class Member>
  bool members(unsigned depth, char close, Member&& member) {
    if (depth + 2 > max_depth_) return false;
    ++p_;
    ws();
    if (at(close)) {
      ++p_;
      return true;
    }
    keys seen;
    for (;;) {
      if (close == '}') {
        ws();
        if (!at('"')) return false;
        std::string_view key;
        bool escaped = false;
        if (!string(key, escaped) || escaped || !seen.add(key)) return false;
        if (!eat(':')) return false;
        if (!member(key)) return false;
      } else if (!member(std::string_view{})) {
        return false;
      }
      ws();
      if (at(',')) {
        ++p_;
        continue;
      }
      if (!at(close)) return false;
      ++p_;
      return true;
    }
  }

  bool object(unsigned depth) {
    return members(depth, '}', [&](std::string_view) { return value(depth + 1); });
  }
  bool array(unsigned depth) {
    return members(depth, ']', [&](std::string_view) { return value(depth + 1); });
  }

  // A field's value: a string without escapes (the DOM path decodes those), JSON null, or
  // anything else.
  enum class field { string, null, other };
  field string_field(std::string_view& out) {
    ws();
    if (at('"')) {
      bool escaped = false;
      if (!string(out, escaped) || escaped) return field::other;
      return field::string;
    }
    if (literal("null")) return field::null;
    return field::other;
  }

  bool actor_object(envelope& e) {
    std::string_view id, type;
    bool has_id = false, has_type = false;
    const bool ok = members(1, '}', [&](std::string_view key) {
      if (key == "id" || key == "type") {
        std::string_view v;
        if (string_field(v) != field::string) return false;  // null means missing: the DOM path says so
        (key == "id" ? id : type) = v;
        (key == "id" ? has_id : has_type) = true;
        return true;
      }
      return value(2);
    });
    if (!ok || !has_id || !has_type) return false;
    e.actor = kafka::actor{std::string(id), std::string(type)};
    return true;
  }

  bool top_object(envelope& e) {
    std::string_view id, type, version, source, correlation, time, causation;
    unsigned required = 0;  // one bit per required field seen
    bool has_causation = false;
    const char* payload_begin = nullptr;
    const char* payload_end = nullptr;
    const bool ok = members(0, '}', [&](std::string_view key) {
      const auto required_string = [&](std::string_view& out, unsigned bit) {
        if (string_field(out) != field::string) return false;
        required |= bit;
        return true;
      };
      if (key == "id") return required_string(id, 1u);
      if (key == "type") return required_string(type, 2u);
      if (key == "version") return required_string(version, 4u);
      if (key == "source") return required_string(source, 8u);
      if (key == "correlation_id") return required_string(correlation, 16u);
      if (key == "timestamp") return required_string(time, 32u);
      if (key == "causation_id") {
        const field f = string_field(causation);
        has_causation = f == field::string;
        return f != field::other;
      }
      if (key == "actor") {
        ws();
        if (literal("null")) return true;
        return at('{') && actor_object(e);
      }
      if (key == "payload") {
        ws();
        if (!at('{')) return false;  // not an object: the DOM path names the kind
        payload_begin = p_;
        if (!object(1)) return false;
        payload_end = p_;
        return true;
      }
      return value(1);
    });
    if (!ok || required != 63u || !payload_begin) return false;
    auto t = parse_timestamp(time, "timestamp");
    if (!t) return false;
    e.id = id;
    e.type = type;
    e.version = version;
    e.source = source;
    e.time = *t;
    e.correlation_id = correlation;
    if (has_causation) e.causation_id = std::string(causation);
    e.payload.assign(payload_begin, static_cast<std::size_t>(payload_end - payload_begin));
    return true;
  }

  const char* p_;
  const char* end_;
  unsigned max_depth_;
};

}  // namespace

std::optional<envelope> read_envelope_fast(std::string_view text, unsigned max_depth) {
  return reader(text, max_depth).document();
}

bool accepted_fast(std::string_view text, const json_limits& limits) {
  return text.size() <= limits.max_bytes && reader(text, limits.max_depth).any_document();
}

}  // namespace txova::kafka::detail
