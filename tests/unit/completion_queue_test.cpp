// The completion queue every client hands results back through: order, never inline, batches,
// and a handler that runs the io_context itself from inside a completion.
#include <txova/kafka/detail/completion_queue.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <vector>

namespace asio = boost::asio;
using txova::kafka::detail::completion_queue;

BOOST_AUTO_TEST_SUITE(completion_queue_suite)

BOOST_AUTO_TEST_CASE(completions_run_later_in_the_order_they_were_queued) {
  asio::io_context ioc;
  completion_queue q(ioc.get_executor());
  std::vector<int> seen;
  for (int i = 0; i < 5; ++i) q.complete([&](int v) { seen.push_back(v); }, i);
  BOOST_TEST(seen.empty(), "never inline");
  ioc.run();
  BOOST_TEST((seen == std::vector<int>{0, 1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(a_completion_queued_by_a_completion_runs_in_a_later_batch) {
  asio::io_context ioc;
  completion_queue q(ioc.get_executor());
  std::vector<int> seen;
  q.complete([&](int v) {
    seen.push_back(v);
    q.complete([&](int w) { seen.push_back(w); }, 10);
  }, 1);
  q.complete([&](int v) { seen.push_back(v); }, 2);
  ioc.run();
  BOOST_TEST((seen == std::vector<int>{1, 2, 10}));
  // Many batches in a row reuse the queue's storage and lose nothing.
  seen.clear();
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < round % 7; ++i) q.complete([&](int v) { seen.push_back(v); }, round);
    ioc.restart();
    ioc.run();
  }
  std::size_t expected = 0;
  for (int round = 0; round < 100; ++round) expected += static_cast<std::size_t>(round % 7);
  BOOST_TEST(seen.size() == expected);
}

BOOST_AUTO_TEST_CASE(a_completion_that_runs_the_io_context_itself_loses_nothing) {
  // A handler that pumps the io_context (a test helper waiting inside a callback, say) runs the
  // next batch from inside this one: what it waits for must complete.
  asio::io_context ioc;
  completion_queue q(ioc.get_executor());
  std::vector<int> seen;
  q.complete([&](int v) {
    seen.push_back(v);
    q.complete([&](int w) { seen.push_back(w); }, 20);
    ioc.restart();
    ioc.poll();  // runs the batch posted for 20 from inside this one
    seen.push_back(-1);
  }, 1);
  q.complete([&](int v) { seen.push_back(v); }, 2);
  q.complete([&](int v) { seen.push_back(v); }, 3);
  ioc.restart();
  ioc.run();
  BOOST_TEST((seen == std::vector<int>{1, 20, -1, 2, 3}), "each handler once; the nested batch inside");
}

BOOST_AUTO_TEST_SUITE_END()
