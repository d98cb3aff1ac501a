#pragma once
// What a failed publish throws in a coroutine: the delivery with it, so what went wrong (with
// its values), the event id and the dead-letter topic are not lost to a bare error code.
//
//   try {
//     delivery d = co_await producer.async_publish(event, ctx);   // or asio::use_awaitable
//   } catch (const publish_error& e) {
//     e.code();                          // error::too_large, an rdkafka code, dead_letter_failed, ...
//     e.delivery().error_message;        // "payload.fare currency \"mzn\" is not an ISO 4217 code"
//     e.delivery().dead_letter_topic;    // set when the event went to its DLQ
//   }
//
// Asio's use_awaitable would throw a plain system_error(ec) for an operation that completes with
// (error_code, delivery); the async_result specialization below makes it throw publish_error, for
// use_awaitable as for a co_awaited deferred operation. Other tokens (callbacks, as_tuple,
// use_future's error_code) see the plain (error_code, delivery).
#include <txova/kafka/delivery.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <string>
#include <utility>

namespace txova::kafka {

class publish_error : public boost::system::system_error {
public:
  publish_error(boost::system::error_code ec, kafka::delivery d);
  const kafka::delivery& delivery() const noexcept { return delivery_; }

private:
  kafka::delivery delivery_;
};

namespace detail {
// Turns (error_code, delivery) into (exception_ptr, delivery) for use_awaitable.
template <class Handler>
struct delivery_thrower {
  Handler handler_{};
  void operator()(boost::system::error_code ec, delivery d) {
    std::exception_ptr e = ec ? std::make_exception_ptr(publish_error(ec, d)) : nullptr;
    std::move(handler_)(std::move(e), std::move(d));
  }
};
template <class Initiation>
struct delivery_throwing_initiation {
  Initiation init_{};
  template <class Handler, class... Args>
  void operator()(Handler&& h, Args&&... args) && {
    std::move(init_)(delivery_thrower<std::decay_t<Handler>>{std::forward<Handler>(h)}, std::forward<Args>(args)...);
  }
};
}  // namespace detail
}  // namespace txova::kafka

namespace boost::asio {

template <template <typename, typename> class Associator, class Handler, class DefaultCandidate>
struct associator<Associator, txova::kafka::detail::delivery_thrower<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const txova::kafka::detail::delivery_thrower<Handler>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler_);
  }
  static auto get(const txova::kafka::detail::delivery_thrower<Handler>& h, const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler_, c)) {
    return Associator<Handler, DefaultCandidate>::get(h.handler_, c);
  }
};

template <class Executor>
class async_result<use_awaitable_t<Executor>, void(boost::system::error_code, txova::kafka::delivery)> {
  using base = async_result<use_awaitable_t<Executor>, void(std::exception_ptr, txova::kafka::delivery)>;

public:
  using return_type = typename base::return_type;

  template <class Initiation, class... Args>
  static return_type initiate(Initiation&& init, use_awaitable_t<Executor> u, Args&&... args) {
    return base::initiate(txova::kafka::detail::delivery_throwing_initiation<std::decay_t<Initiation>>{
                              std::forward<Initiation>(init)},
                          u, std::forward<Args>(args)...);
  }
};

}  // namespace boost::asio

// A co_awaited deferred operation does not go through async_result: Asio 1.81 resumes the
// coroutine through awaitable_async_op_handler, which throws system_error(ec). Its
// specialization for (error_code, delivery) throws publish_error instead. (Asio's own internals:
// kept to the Boost version this library is built with.)
#include <boost/version.hpp>
#if BOOST_VERSION / 100 == 1081
#include <boost/asio/awaitable.hpp>

namespace boost::asio::detail {

template <typename R, typename Executor>
class awaitable_async_op_handler<R(boost::system::error_code, txova::kafka::delivery), Executor>
    : public awaitable_thread<Executor> {
public:
  struct result_type {
    boost::system::error_code* ec_;
    txova::kafka::delivery* value_;
  };

  awaitable_async_op_handler(awaitable_thread<Executor>* h, result_type& result)
      : awaitable_thread<Executor>(std::move(*h)), result_(result) {}

  void operator()(boost::system::error_code ec, txova::kafka::delivery value) {
    result_.ec_ = &ec;
    result_.value_ = &value;
    this->entry_point()->top_of_stack_->attach_thread(this);
    this->entry_point()->top_of_stack_->clear_cancellation_slot();
    this->pump();
  }

  static txova::kafka::delivery resume(result_type& result) {
    if (*result.ec_) throw txova::kafka::publish_error(*result.ec_, std::move(*result.value_));
    return std::move(*result.value_);
  }

private:
  result_type& result_;
};

}  // namespace boost::asio::detail
#endif
