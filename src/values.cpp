#include <txova/kafka/values.hpp>

#include <algorithm>
#include <cmath>

namespace txova::kafka {
namespace {
std::string number_text(double v) {
  std::string s;
  detail::append_number(s, v);
  return s;
}
}  // namespace

std::string location::validate() const {
  if (!std::isfinite(lat) || lat < -90 || lat > 90)
    return "latitude " + number_text(lat) + " is out of range [-90, 90]";
  if (!std::isfinite(lon) || lon < -180 || lon > 180)
    return "longitude " + number_text(lon) + " is out of range [-180, 180]";
  return {};
}

std::string money::validate() const {
  const bool iso = currency.size() == 3 &&
                   std::all_of(currency.begin(), currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!iso) {
    std::string s = "currency ";
    detail::append_quoted(s, currency);
    return s + " is not an ISO 4217 code (three uppercase letters)";
  }
  return {};
}

}  // namespace txova::kafka
