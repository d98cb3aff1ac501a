#include <txova/kafka/events/all.hpp>

namespace txova::kafka::events {
namespace {
std::string number(double v) {
  std::string s;
  detail::append_number(s, v);
  return s;
}
}  // namespace

std::string driver_location_updated::validate() const {
  if (!(heading >= 0 && heading < 360)) return "heading " + number(heading) + " is outside [0, 360) degrees";
  if (!(speed >= 0)) return "speed " + number(speed) + " km/h is negative";
  return {};
}

std::string ride_driver_assigned::validate() const {
  if (eta_minutes < 0) return "eta_minutes " + std::to_string(eta_minutes) + " is negative";
  return {};
}

std::string ride_completed::validate() const {
  if (!(distance_km >= 0)) return "distance_km " + number(distance_km) + " is negative";
  if (duration_mins < 0) return "duration_mins " + std::to_string(duration_mins) + " is negative";
  if (fare.amount < 0) return "fare amount " + std::to_string(fare.amount) + " is negative";
  return {};
}

std::string ride_rated::validate() const {
  if (rating < 1 || rating > 5) return "rating " + std::to_string(rating) + " is outside 1 to 5";
  return {};
}

}  // namespace txova::kafka::events
