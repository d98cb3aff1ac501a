#pragma once
// An example service on txova-kafka: when a ride completes, bill it. The handler validates the
// fare, publishes payment.initiated as a follow-up of the ride event (same correlation id,
// causation = the ride event's id), and lets the consumer decide what a failure means:
//   - a fare of zero is a business outcome (business_error: logged, committed, not retried);
//   - a payment that cannot be published is transient (the publish throws: retried, then DLQ).
// It takes a `producer&` and adds its routes to a `router&`, so production wires it to the real
// producer and consumer and a test to the test kit's recording producer and handler driver
// (billing_service_test.cpp).
#include <txova/kafka/events/payment.hpp>
#include <txova/kafka/events/ride.hpp>
#include <txova/kafka/handler.hpp>
#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/producer.hpp>

#include <boost/asio/use_awaitable.hpp>

namespace billing {

namespace kafka = txova::kafka;

class billing_service {
public:
  explicit billing_service(kafka::producer& payments, std::string method = "mpesa")
      : payments_(payments), method_(std::move(method)) {}

  void add_routes(kafka::router& routes) {
    routes.on<kafka::events::ride_completed>(
        [this](const kafka::events::ride_completed& ride, kafka::message_context& ctx) { return bill(ride, ctx); });
  }

  boost::asio::awaitable<void> bill(const kafka::events::ride_completed& ride, kafka::message_context& ctx) {
    if (ride.fare.amount <= 0) throw kafka::business_error("ride " + ride.ride_id.str() + " has no fare to bill");
    const kafka::events::payment_initiated payment{kafka::ids::payment_id("pay-" + ride.ride_id.str()), ride.ride_id,
                                                   ride.fare, method_};
    const kafka::envelope out = kafka::make_envelope(payment, ctx.follow_up("billing"));
    // Throws boost::system::system_error when the broker refuses it: the consumer retries.
    co_await payments_.async_publish(out, boost::asio::use_awaitable);
  }

private:
  kafka::producer& payments_;
  std::string method_;
};

}  // namespace billing
