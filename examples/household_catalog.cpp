// A catalog of your own: household chores, declared exactly like the txova events.
#include <txova/kafka/catalog.hpp>
#include <txova/kafka/envelope.hpp>
#include <txova/kafka/topics.hpp>
#include <txova/kafka/values.hpp>

#include <boost/describe/class.hpp>

#include <cstdio>

namespace home {
using namespace txova::kafka;

namespace topics {
inline constexpr std::string_view tasks = "home.tasks.v1";
inline constexpr std::string_view bills = "home.bills.v1";
}  // namespace topics
namespace ids {  // a member may not reuse its type's unqualified name, so ids live apart
using task_id = strong_id<struct task_tag>;
using bill_id = strong_id<struct bill_tag>;
}  // namespace ids

/// task.created: a chore was added to the household's list.
struct task_created {
  static constexpr event_info info{"task.created", "1.0", topics::tasks, "task_id"};
  ids::task_id task_id;
  std::string title;
  std::string assignee;
  std::optional<timestamp> due;
};
BOOST_DESCRIBE_STRUCT(task_created, (), (task_id, title, assignee, due))

/// task.completed: a chore was done.
struct task_completed {
  static constexpr event_info info{"task.completed", "1.0", topics::tasks, "task_id"};
  ids::task_id task_id;
  std::string completed_by;
};
BOOST_DESCRIBE_STRUCT(task_completed, (), (task_id, completed_by))

/// bill.paid: a household bill was paid.
struct bill_paid {
  static constexpr event_info info{"bill.paid", "1.0", topics::bills, "bill_id"};
  ids::bill_id bill_id;
  money amount;
  std::string payee;
};
BOOST_DESCRIBE_STRUCT(bill_paid, (), (bill_id, amount, payee))

const catalog& chores() {
  static const catalog c = catalog::of<task_created, task_completed, bill_paid>();
  return c;
}
}  // namespace home

int main() {
  using namespace txova::kafka;
  const event_context ctx{.source = "household-app", .actor = actor{"ana", "user"}};
  const topic_map topics(home::chores());

  const envelope events[] = {
      make_envelope(home::task_created{home::ids::task_id("t-1"), "Take out the bins", "joao", std::nullopt}, ctx),
      make_envelope(home::task_completed{home::ids::task_id("t-1"), "joao"}, ctx),
      make_envelope(home::bill_paid{home::ids::bill_id("edm-2024-01"), money::minor(185000, "MZN"), "EDM"}, ctx),
  };
  int failures = 0;
  for (const envelope& e : events) {
    auto topic = topics.resolve(e.type);
    auto key = partition_key(e, home::chores());
    if (validate(e) || !topic || !key) {
      ++failures;
      continue;
    }
    std::printf("%-15s -> %-14s key=%-12s %s\n", e.type.c_str(), topic->c_str(), key->c_str(), to_json(e).c_str());
  }
  auto bill = payload_as<home::bill_paid>(events[2]);
  std::printf("bill.paid read back: %lld %s to %s\n", static_cast<long long>(bill->amount.amount),
              bill->amount.currency.c_str(), bill->payee.c_str());
  return failures;
}
