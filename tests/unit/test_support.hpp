#pragma once
// Printing for Boost.Test assertions on library types.
#include <txova/kafka/error.hpp>

#include <ostream>

namespace txova::kafka {
inline std::ostream& boost_test_print_type(std::ostream& os, error e) {
  return os << make_error_code(e).message() << " (" << static_cast<int>(e) << ")";
}
}  // namespace txova::kafka
