#pragma once
// The logging middleware: a line for every publish acknowledged and every handler attempt that
// succeeded, with event id, correlation id, topic, partition, offset and duration. Failures are
// not logged here: the producer and consumer log each of them once already (log.hpp).
// logging_options::each_message adds them; or `producer.use(producer_logging({...}))`.
#include <txova/kafka/config.hpp>
#include <txova/kafka/middleware.hpp>

namespace txova::kafka {

std::shared_ptr<publish_observer> producer_logging(logging_options options = {});
std::shared_ptr<handler_observer> consumer_logging(logging_options options = {});

}  // namespace txova::kafka
