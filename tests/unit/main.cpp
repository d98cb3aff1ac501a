#define BOOST_TEST_MODULE txova_kafka_unit
#include <boost/test/unit_test.hpp>
