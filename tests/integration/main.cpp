#define BOOST_TEST_MODULE txova_kafka_integration
#include <boost/test/unit_test.hpp>
