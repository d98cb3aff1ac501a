#pragma once
// Routes an event type (and its major version) to a handler. Sans-IO and generic over the
// handler type, so its precedence rules are unit-tested without a broker.
//
// Patterns: an exact type ("ride.completed"), a prefix wildcard ("user.*": every type whose
// first segment is "user"; "ride.driver.*" would need two), or "*" (everything).
// Precedence: an exact type wins over any pattern; among patterns the one with more literal
// segments wins ("ride.*" over "*"). A route registered for a major version wins over the same
// pattern registered for all versions, so v1 and v2 handlers can live side by side during a
// migration.
#include <txova/kafka/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace txova::kafka {

namespace detail {
/// Checks a pattern; the diagnostic names it and says what is wrong.
diagnostic check_route_pattern(std::string_view pattern);
/// How well `pattern` matches `type`: -1 for no match, else a rank where higher is more
/// specific (exact types rank above every wildcard).
int route_rank(std::string_view pattern, std::string_view type) noexcept;
}  // namespace detail

template <class Handler>
class basic_router {
public:
  /// Routes `pattern` (all versions) to `handler`. A bad pattern ("User.*"), one already routed
  /// for the same version, or a route added once the routes are frozen (the consumer runs)
  /// throws diagnostic_error naming it: a route that silently did not register would commit its
  /// records unhandled.
  basic_router& on(std::string_view pattern, Handler handler) {
    return checked(add(pattern, std::nullopt, std::move(handler)));
  }
  /// Routes `pattern` for envelopes whose version has major number `major` only.
  basic_router& on(std::string_view pattern, unsigned major, Handler handler) {
    return checked(add(pattern, major, std::move(handler)));
  }
  /// As on(), returning the failure (error::invalid_config) instead of throwing it.
  [[nodiscard]] diagnostic try_on(std::string_view pattern, Handler handler) {
    return add(pattern, std::nullopt, std::move(handler));
  }
  [[nodiscard]] diagnostic try_on(std::string_view pattern, unsigned major, Handler handler) {
    return add(pattern, major, std::move(handler));
  }

  /// No route can be added or changed from now on (the consumer calls it when it starts: a
  /// handler that changed the routes would pull the running handler from under itself).
  void freeze() noexcept { frozen_ = true; }
  bool frozen() const noexcept { return frozen_; }

  /// The handler for an event of `type` whose version's major number is `major` (nullopt when
  /// the version could not be read), or nullptr when nothing matches.
  const Handler* find(std::string_view type, std::optional<unsigned> major) const {
    const route* best = nullptr;
    int best_rank = -1;
    for (const route& r : routes_) {
      if (r.major && r.major != major) continue;
      const int rank = detail::route_rank(r.pattern, type);
      if (rank < 0) continue;
      // Version-specific beats version-agnostic at the same rank.
      const int score = rank * 2 + (r.major ? 1 : 0);
      if (score > best_rank) {
        best_rank = score;
        best = &r;
      }
    }
    return best ? &best->handler : nullptr;
  }

  bool empty() const noexcept { return routes_.empty(); }

private:
  struct route {
    std::string pattern;
    std::optional<unsigned> major;
    Handler handler;
  };

protected:
  basic_router& checked(diagnostic d) {
    if (d) throw diagnostic_error(std::move(d));
    return *this;
  }
  diagnostic frozen_error(std::string_view what) const {
    return make_diagnostic(error::invalid_config, "route",
                           std::string(what) + ": the routes are frozen once the consumer runs; register every route "
                           "before async_run");
  }

private:
  diagnostic add(std::string_view pattern, std::optional<unsigned> major, Handler handler) {
    if (frozen_) return frozen_error("route \"" + std::string(pattern) + "\" was not added");
    if (auto d = detail::check_route_pattern(pattern)) return d;
    for (const route& r : routes_)
      if (r.pattern == pattern && r.major == major)
        return make_diagnostic(error::invalid_config, "route",
                               "route \"" + std::string(pattern) + "\"" +
                                   (major ? " for major version " + std::to_string(*major) : std::string()) +
                                   " is already registered");
    routes_.push_back(route{std::string(pattern), major, std::move(handler)});
    return {};
  }

  std::vector<route> routes_;
  bool frozen_ = false;
};

}  // namespace txova::kafka
