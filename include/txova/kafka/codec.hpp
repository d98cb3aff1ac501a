#pragma once
// JSON conversion for typed payloads, generated from Boost.Describe: one mechanism for every
// event of every catalog, never a hand-written pair per type.
//
// Supported members: bool, integers, double, std::string, timestamp, std::vector<T>,
// std::optional<T> (omitted when empty, like Go's `omitempty` on a pointer), described enums
// (written as their names), described structs (objects, members in declaration order, unknown
// keys ignored), and any type with a `json_codec` specialization (see values.hpp).
// A type with `std::string validate() const` is checked after decoding; a non-empty answer
// fails the decode with that reason.

#include <txova/kafka/detail/json_text.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/timestamp.hpp>

#include <boost/describe/enum.hpp>
#include <boost/describe/enum_from_string.hpp>
#include <boost/describe/enum_to_string.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>
#include <boost/system/result.hpp>

#include <cmath>
#include <concepts>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace txova::kafka {

/// Where a decode is and what went wrong: keeps the JSON path ("payload.fare.amount") so every
/// message names the field.
class decode_state {
public:
  explicit decode_state(std::string root) : path_(std::move(root)) {}

  const std::string& path() const noexcept { return path_; }
  std::size_t enter(std::string_view member) {
    const std::size_t mark = path_.size();
    path_.append(".").append(member);
    return mark;
  }
  std::size_t enter_index(std::size_t i) {
    const std::size_t mark = path_.size();
    path_.append("[").append(std::to_string(i)).append("]");
    return mark;
  }
  void leave(std::size_t mark) { path_.resize(mark); }

  /// Records the failure at the current path; `what` completes the sentence after the path.
  bool fail(error e, std::string_view what) {
    if (!failure_) failure_ = make_diagnostic(e, path_, path_ + " " + std::string(what));
    return false;
  }
  bool wrong_type(std::string_view expected, const boost::json::value& got) {
    return fail(error::wrong_type, "must be " + std::string(expected) + ", got " + detail::describe_value(got));
  }
  diagnostic take_failure() { return std::move(failure_); }

private:
  std::string path_;
  diagnostic failure_;
};

/// Customization point: `static void write(std::string&, const T&)` and
/// `static bool read(const boost::json::value&, T&, decode_state&)`.
template <class T, class Enable = void>
struct json_codec;

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
concept self_validating = requires(const T& t) {
  { t.validate() } -> std::convertible_to<std::string>;
};

template <class T>
concept described_struct = boost::describe::has_describe_members<T>::value && !std::is_union_v<T>;

template <class T>
using public_members = boost::describe::describe_members<T, boost::describe::mod_public>;

}  // namespace detail

/// Writes `value` as Go-compatible JSON text.
template <class T>
void write_json(std::string& out, const T& value) {
  json_codec<T>::write(out, value);
}

/// Reads `value` from a JSON value, then runs its `validate()` if it has one.
template <class T>
bool read_json(const boost::json::value& in, T& value, decode_state& st) {
  if (!json_codec<T>::read(in, value, st)) return false;
  if constexpr (detail::self_validating<T>) {
    if (std::string why = value.validate(); !why.empty()) return st.fail(error::invalid_field, why);
  }
  return true;
}

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
}  // namespace detail

/// Checks a typed value by the rules decoding applies to it (each type's validate(), finite
/// numbers, named enumerators), member by member, so a value that would not decode is refused
/// before it is written: one set of rules for publishing and consuming. Fails `st` naming the
/// field ("payload.fare currency \"mzn\" is not an ISO 4217 code").
template <class T>
bool check_json(const T& value, decode_state& st) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) return st.fail(error::invalid_field, "is not a finite number (JSON cannot carry NaN or infinity)");
  } else if constexpr (detail::is_optional<T>::value) {
    if (value && !check_json(*value, st)) return false;
  } else if constexpr (detail::is_vector<T>::value) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::size_t mark = st.enter_index(i);
      if (!check_json(value[i], st)) return false;
      st.leave(mark);
    }
  } else if constexpr (std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value) {
    if (!*boost::describe::enum_to_string(value, "")) return st.fail(error::invalid_field, "is not a named enumerator");
  } else if constexpr (detail::described_struct<T>) {
    bool ok = true;
    boost::mp11::mp_for_each<detail::public_members<T>>([&](auto d) {
      if (!ok) return;
      const std::size_t mark = st.enter(d.name);
      ok = check_json(value.*d.pointer, st);
      if (ok) st.leave(mark);
    });
    if (!ok) return false;
  }
  if constexpr (detail::self_validating<T>) {
    if (std::string why = value.validate(); !why.empty()) return st.fail(error::invalid_field, why);
  }
  return true;
}

/// check_json for a whole value; `root` prefixes field paths. Converts to false when valid.
template <class T>
diagnostic validate_value(const T& value, std::string root = "payload") {
  decode_state st(std::move(root));
  if (check_json(value, st)) return {};
  return st.take_failure();
}

/// The JSON text of `value`. Throws diagnostic_error for a NaN or an infinity, which JSON cannot
/// spell (check with validate_value first to get the field's name instead).
template <class T>
std::string to_json_text(const T& value) {
  std::string out{};
  write_json(out, value);
  return out;
}

/// Decodes `T` from a parsed JSON value; `root` prefixes field paths in messages.
template <class T>
boost::system::result<T, diagnostic> from_json_value(const boost::json::value& v, std::string root = "payload") {
  decode_state st(std::move(root));
  T out{};
  if (!read_json(v, out, st)) return st.take_failure();
  return out;
}

/// Parses untrusted text (strictly, see detail::parse_strict) and decodes `T` from it.
template <class T>
boost::system::result<T, diagnostic> from_json_text(std::string_view text, std::string root = "payload",
                                                    const detail::json_limits& limits = {}) {
  auto v = detail::parse_strict(text, limits, root);
  if (!v) return v.error();
  return from_json_value<T>(*v, std::move(root));
}

// ---- built-in codecs -------------------------------------------------------------------------

template <>
struct json_codec<bool> {
  static void write(std::string& out, bool v) { out += v ? "true" : "false"; }
  static bool read(const boost::json::value& in, bool& v, decode_state& st) {
    if (!in.is_bool()) return st.wrong_type("a boolean", in);
    v = in.get_bool();
    return true;
  }
};

template <>
struct json_codec<std::string> {
  static void write(std::string& out, const std::string& v) { detail::append_quoted(out, v); }
  static bool read(const boost::json::value& in, std::string& v, decode_state& st) {
    if (!in.is_string()) return st.wrong_type("a string", in);
    v.assign(in.get_string().data(), in.get_string().size());
    return true;
  }
};

template <std::integral T>
  requires(!std::same_as<T, bool>)
struct json_codec<T> {
  static void write(std::string& out, T v) {
    if constexpr (std::is_signed_v<T>)
      detail::append_number(out, static_cast<std::int64_t>(v));
    else
      detail::append_number(out, static_cast<std::uint64_t>(v));
  }
  static bool read(const boost::json::value& in, T& v, decode_state& st) {
    // Like Go: 12.0 is not an integer; a value out of T's range is an error, never truncated.
    if (in.is_int64()) {
      const std::int64_t x = in.get_int64();
      if (std::in_range<T>(x)) { v = static_cast<T>(x); return true; }
    } else if (in.is_uint64()) {
      const std::uint64_t x = in.get_uint64();
      if (std::in_range<T>(x)) { v = static_cast<T>(x); return true; }
    } else {
      return st.wrong_type("an integer", in);
    }
    return st.fail(error::invalid_field, detail::describe_value(in) + " is out of range [" +
                                             std::to_string(std::numeric_limits<T>::min()) + ", " +
                                             std::to_string(std::numeric_limits<T>::max()) + "]");
  }
};

template <>
struct json_codec<double> {
  static void write(std::string& out, double v) {
    // JSON cannot spell NaN or infinity, and writing null instead would change the value.
    if (!std::isfinite(v))
      throw diagnostic_error(make_diagnostic(error::invalid_field, "",
                                             "a number is NaN or infinite, which JSON cannot carry (validate_value names the field)"));
    detail::append_number(out, v);
  }
  static bool read(const boost::json::value& in, double& v, decode_state& st) {
    if (in.is_double()) v = in.get_double();
    else if (in.is_int64()) v = static_cast<double>(in.get_int64());
    else if (in.is_uint64()) v = static_cast<double>(in.get_uint64());
    else return st.wrong_type("a number", in);
    if (!std::isfinite(v)) return st.fail(error::invalid_field, "is not a finite number");
    return true;
  }
};

template <>
struct json_codec<timestamp> {
  static void write(std::string& out, timestamp t) {
    out.push_back('"');
    append_timestamp(out, t);
    out.push_back('"');
  }
  static bool read(const boost::json::value& in, timestamp& t, decode_state& st) {
    if (!in.is_string()) return st.wrong_type("an RFC 3339 UTC time string", in);
    auto r = parse_timestamp(in.get_string(), st.path());
    if (!r) return st.fail(error::invalid_field, r.error().message.substr(st.path().size() + 1));
    t = *r;
    return true;
  }
};

template <class T>
struct json_codec<std::vector<T>> {
  static void write(std::string& out, const std::vector<T>& v) {
    out.push_back('[');
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) out.push_back(',');
      write_json(out, v[i]);
    }
    out.push_back(']');
  }
  static bool read(const boost::json::value& in, std::vector<T>& v, decode_state& st) {
    if (in.is_null()) {  // Go marshals a nil slice as null
      v.clear();
      return true;
    }
    if (!in.is_array()) return st.wrong_type("an array", in);
    const auto& arr = in.get_array();
    v.clear();
    v.reserve(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::size_t mark = st.enter_index(i);
      if (!read_json(arr[i], v.emplace_back(), st)) return false;
      st.leave(mark);
    }
    return true;
  }
};

template <class T>
struct json_codec<std::optional<T>> {
  static void write(std::string& out, const std::optional<T>& v) {
    if (v) write_json(out, *v);
    else out += "null";
  }
  static bool read(const boost::json::value& in, std::optional<T>& v, decode_state& st) {
    if (in.is_null()) { v.reset(); return true; }
    return read_json(in, v.emplace(), st);
  }
};

template <class E>
  requires std::is_enum_v<E> && boost::describe::has_describe_enumerators<E>::value
struct json_codec<E> {
  static void write(std::string& out, E v) {
    detail::append_quoted(out, boost::describe::enum_to_string(v, ""));
  }
  static bool read(const boost::json::value& in, E& v, decode_state& st) {
    if (!in.is_string()) return st.wrong_type("a string", in);
    const std::string name(in.get_string());
    if (boost::describe::enum_from_string(name.c_str(), v)) return true;
    std::string allowed;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
      allowed += allowed.empty() ? "" : ", ";
      allowed += d.name;
    });
    return st.fail(error::invalid_field, detail::describe_value(in) + " is not one of: " + allowed);
  }
};

template <class T>
  requires detail::described_struct<T>
struct json_codec<T> {
  static void write(std::string& out, const T& v) {
    out.push_back('{');
    bool first = true;
    boost::mp11::mp_for_each<detail::public_members<T>>([&](auto d) {
      const auto& member = v.*d.pointer;
      if constexpr (detail::is_optional<std::remove_cvref_t<decltype(member)>>::value) {
        if (!member) return;  // omitempty
      }
      if (!first) out.push_back(',');
      first = false;
      detail::append_quoted(out, d.name);
      out.push_back(':');
      write_json(out, member);
    });
    out.push_back('}');
  }
  static bool read(const boost::json::value& in, T& v, decode_state& st) {
    if (!in.is_object()) return st.wrong_type("an object", in);
    const auto& obj = in.get_object();
    bool ok = true;
    boost::mp11::mp_for_each<detail::public_members<T>>([&](auto d) {
      if (!ok) return;
      auto& member = v.*d.pointer;
      using member_t = std::remove_cvref_t<decltype(member)>;
      const std::size_t mark = st.enter(d.name);
      if (const boost::json::value* field = obj.if_contains(d.name)) {
        ok = read_json(*field, member, st);
      } else if constexpr (detail::is_optional<member_t>::value) {
        member.reset();
      } else {
        ok = st.fail(error::missing_field, "is missing");
      }
      if (ok) st.leave(mark);
    });
    return ok;
  }
};

}  // namespace txova::kafka
