#pragma once
// A Boost.JSON parser whose doubles are correctly rounded. Boost.JSON 1.81 converts some
// decimal numbers to the neighbouring double ("-25.969266666666666" becomes
// -25.969266666666663), so a latitude a Go service wrote (strconv, correctly rounded) would
// decode to another value, and re-encoding a decoded payload would not give back its text
// (found by the envelope fuzzer). Boost 1.83 adds number_precision::precise; until then this
// handler builds the same value as boost::json::stream_parser, but converts the number's own
// text with std::from_chars.
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <string>

namespace txova::kafka::detail {

class precise_json_parser {
public:
  precise_json_parser(const boost::json::parse_options& opts, unsigned char* temp, std::size_t temp_size)
      : p_(opts, boost::json::storage_ptr(), temp, temp_size) {}

  void reset(boost::json::storage_ptr sp) {
    p_.reset();
    p_.handler().st.reset(std::move(sp));
  }
  std::size_t write_some(const char* data, std::size_t size, boost::system::error_code& ec) {
    return p_.write_some(true, data, size, ec);
  }
  bool done() const noexcept { return p_.done(); }
  void finish(boost::system::error_code& ec) { p_.write_some(false, nullptr, 0, ec); }
  boost::json::value release() { return p_.handler().st.release(); }

private:
  struct handler {
    static constexpr std::size_t max_object_size = boost::json::object::max_size();
    static constexpr std::size_t max_array_size = boost::json::array::max_size();
    static constexpr std::size_t max_key_size = boost::json::string::max_size();
    static constexpr std::size_t max_string_size = boost::json::string::max_size();
    using error_code = boost::system::error_code;
    using string_view = boost::json::string_view;

    boost::json::value_stack st;
    std::string number;  // the parts of a number split across writes

    handler(boost::json::storage_ptr sp, unsigned char* temp, std::size_t size) : st(std::move(sp), temp, size) {}

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code&) { return true; }
    bool on_object_end(std::size_t n, error_code&) { return st.push_object(n), true; }
    bool on_array_begin(error_code&) { return true; }
    bool on_array_end(std::size_t n, error_code&) { return st.push_array(n), true; }
    bool on_key_part(string_view s, std::size_t, error_code&) { return st.push_chars(s), true; }
    bool on_key(string_view s, std::size_t, error_code&) { return st.push_key(s), true; }
    bool on_string_part(string_view s, std::size_t, error_code&) { return st.push_chars(s), true; }
    bool on_string(string_view s, std::size_t, error_code&) { return st.push_string(s), true; }
    bool on_number_part(string_view s, error_code&) { return number.append(s.data(), s.size()), true; }
    bool on_int64(std::int64_t i, string_view, error_code&) { return number.clear(), st.push_int64(i), true; }
    bool on_uint64(std::uint64_t u, string_view, error_code&) { return number.clear(), st.push_uint64(u), true; }
    bool on_double(double d, string_view s, error_code&) {
      // The whole number is `s` unless a write ended inside it (then its parts are in `number`).
      if (!number.empty()) number.append(s.data(), s.size());
      const char* first = number.empty() ? s.data() : number.data();
      const char* last = number.empty() ? s.data() + s.size() : number.data() + number.size();
      double exact = 0;
      // Out of range (1e400) leaves Boost.JSON's value; JSON's grammar is a subset of from_chars'.
      if (const auto r = std::from_chars(first, last, exact); r.ec == std::errc() && r.ptr == last) d = exact;
      number.clear();
      st.push_double(d);
      return true;
    }
    bool on_bool(bool b, error_code&) { return st.push_bool(b), true; }
    bool on_null(error_code&) { return st.push_null(), true; }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }
  };
  boost::json::basic_parser<handler> p_;
};

}  // namespace txova::kafka::detail
