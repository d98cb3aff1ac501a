#include <txova/kafka/timestamp.hpp>

#include <txova/kafka/detail/json_text.hpp>

#include <array>
#include <charconv>

namespace txova::kafka {
namespace {

using namespace std::chrono;

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

diagnostic bad(std::string_view field, std::string_view text, std::string_view why) {
  std::string msg;
  msg.append(field).append(" ");
  detail::append_quoted(msg, text);
  msg.append(" ").append(why);
  return make_diagnostic(error::invalid_field, std::string(field), std::move(msg));
}

void append_padded(std::string& out, long long v, int width) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  for (int pad = width - static_cast<int>(end - buf.data()); pad > 0; --pad) out.push_back('0');
  out.append(buf.data(), end);
}

}  // namespace

timestamp now_utc() noexcept { return time_point_cast<nanoseconds>(system_clock::now()); }

boost::system::result<timestamp, diagnostic> parse_timestamp(std::string_view s,
                                                             std::string_view field) {
  constexpr std::string_view shape = "is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SS[.fraction]Z)";
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || s[10] != 'T' || !digits(s, 11, 2, hour) ||
      s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second))
    return bad(field, s, shape);

  std::size_t pos = 19;
  long long nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start == 9) return bad(field, s, "has more than 9 fraction digits");
      nanos = nanos * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == start) return bad(field, s, shape);
    for (std::size_t n = pos - start; n < 9; ++n) nanos *= 10;
  }
  if (pos == s.size()) return bad(field, s, "has no UTC designator: it must end in Z");
  std::string_view zone = s.substr(pos);
  if (zone != "Z") {
    if (zone[0] == '+' || zone[0] == '-')
      return bad(field, s, "is not UTC: it has offset " + std::string(zone) + "; send it in UTC with a Z");
    return bad(field, s, shape);
  }

  const year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                           std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return bad(field, s, "is not a calendar date");
  if (hour > 23 || minute > 59 || second > 59) return bad(field, s, "is not a valid time of day");
  // A signed 64-bit count of nanoseconds spans 1677-09-21 to 2262-04-11.
  if (year < 1678 || year > 2261) return bad(field, s, "is outside the supported years 1678 to 2261");

  return timestamp{sys_days{ymd}} + hours{hour} + minutes{minute} + seconds{second} +
         nanoseconds{nanos};
}

void append_timestamp(std::string& out, timestamp t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  hh_mm_ss<nanoseconds> tod{t - day};
  append_padded(out, static_cast<int>(ymd.year()), 4);
  out.push_back('-');
  append_padded(out, static_cast<unsigned>(ymd.month()), 2);
  out.push_back('-');
  append_padded(out, static_cast<unsigned>(ymd.day()), 2);
  out.push_back('T');
  append_padded(out, tod.hours().count(), 2);
  out.push_back(':');
  append_padded(out, tod.minutes().count(), 2);
  out.push_back(':');
  append_padded(out, tod.seconds().count(), 2);
  if (long long ns = tod.subseconds().count(); ns != 0) {
    std::string frac;
    append_padded(frac, ns, 9);
    while (frac.back() == '0') frac.pop_back();
    out.push_back('.');
    out += frac;
  }
  out.push_back('Z');
}

std::string format_timestamp(timestamp t) {
  std::string out;
  out.reserve(30);
  append_timestamp(out, t);
  return out;
}

}  // namespace txova::kafka
