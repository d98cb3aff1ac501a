#pragma once
// The recording producer's in-memory port on its own (src/testing_recording.cpp), for the test
// kit's other parts: the handler driver writes its dead letters through one.
#include <txova/kafka/detail/producer_port.hpp>
#include <txova/kafka/testing/recording_producer.hpp>

#include <memory>

namespace txova::kafka::testing {

/// A port that appends what is produced to `store` and acknowledges on `ex`.
std::unique_ptr<kafka::detail::producer_port> make_recording_port(boost::asio::any_io_executor ex,
                                                                  std::shared_ptr<event_store> store,
                                                                  recording_options options = {});

}  // namespace txova::kafka::testing
