#pragma once
// txova-kafka in one include: the envelope standard, the txova event catalog, the producer, the
// consumer and topic admin. (The test kit, txova/kafka/testing/, is included on its own.)
#include <txova/kafka/admin.hpp>
#include <txova/kafka/catalog.hpp>
#include <txova/kafka/cloudevents.hpp>
#include <txova/kafka/config.hpp>
#include <txova/kafka/consumer.hpp>
#include <txova/kafka/delivery.hpp>
#include <txova/kafka/dlq.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/error.hpp>
#include <txova/kafka/events/all.hpp>
#include <txova/kafka/handler.hpp>
#include <txova/kafka/handler_error.hpp>
#include <txova/kafka/log.hpp>
#include <txova/kafka/producer.hpp>
#include <txova/kafka/producer_record.hpp>
#include <txova/kafka/publish_error.hpp>
#include <txova/kafka/rdkafka_error.hpp>
#include <txova/kafka/record.hpp>
#include <txova/kafka/retry.hpp>
#include <txova/kafka/router.hpp>
#include <txova/kafka/security.hpp>
#include <txova/kafka/timestamp.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/values.hpp>
