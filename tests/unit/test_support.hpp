#pragma once
// Printing for Boost.Test assertions on library types.
#include <txova/kafka/error.hpp>

#include <ostream>

namespace txova::kafka {
inline std::ostream& boost_test_print_type(std::ostream& os, error e) {
  return os << make_error_code(e).message() << " (" << static_cast<int>(e) << ")";
}
}  // namespace txova::kafka

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

namespace txova::kafka::test {
// Runs `ioc` until `done()` or `limit`; true when done. A timer keeps the io_context from
// running out of work, so the loop waits for events instead of spinning.
template <class Cond>
bool run_until(boost::asio::io_context& ioc, Cond done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  boost::asio::steady_timer keep(ioc, limit);
  keep.async_wait([](const boost::system::error_code&) {});
  for (auto end = std::chrono::steady_clock::now() + limit; !done() && std::chrono::steady_clock::now() < end;) {
    ioc.run_for(std::chrono::milliseconds(5));
    ioc.restart();
  }
  keep.cancel();
  return done();
}
}  // namespace txova::kafka::test
