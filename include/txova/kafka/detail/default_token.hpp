#pragma once
// The completion token an operation uses when the caller names none: the executor's default
// when it has one, else asio::deferred, which a coroutine can co_await directly. With Boost 1.81
// default_completion_token_t is void for executors without a default, so `co_await op(args)`
// would not compile without this.
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <type_traits>

namespace txova::kafka::detail {

template <class Executor>
using default_token_t =
    std::conditional_t<std::is_void_v<boost::asio::default_completion_token_t<Executor>>, boost::asio::deferred_t,
                       boost::asio::default_completion_token_t<Executor>>;

}  // namespace txova::kafka::detail
