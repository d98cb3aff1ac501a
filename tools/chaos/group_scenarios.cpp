// consumer-crash and rebalance-churn: members in processes of their own (txova-chaos member),
// killed with SIGKILL or stopped gracefully, judged from the lines each run wrote.
#include "chaos.hpp"

#include <txova/kafka/envelope.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <sys/stat.h>

namespace chaos {
namespace kafka = txova::kafka;

namespace {

struct member {
  pid_t pid = -1;
  std::string out;
};

member start_member(const options& o, const cluster& c, const std::string& topic, const std::string& group,
                    const std::string& name, long handler_us) {
  member m{.out = c.dir() + "." + name + ".lines"};
  ::unlink(m.out.c_str());
  m.pid = spawn({o.self, "member", "--brokers", c.brokers(), "--topic", topic, "--group", group, "--out", m.out,
                 "--handler-us", std::to_string(handler_us)},
                c.dir() + "." + name + ".log");
  progress("member %s started (pid %d)", name.c_str(), m.pid);
  return m;
}

/// Complete lines in a member's file (polled often: counted, not parsed).
std::size_t lines_of(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return static_cast<std::size_t>(std::count(std::istreambuf_iterator<char>(in), {}, '\n'));
}

asio::awaitable<void> until_lines(const std::string& file, std::size_t n, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (lines_of(file) < n) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(file + ": fewer than " + std::to_string(n) + " records handled after " +
                               std::to_string(limit.count()) + " ms");
    co_await sleep_for(20ms);
  }
}

/// Waits until every expected id appears in one of `files`.
asio::awaitable<void> until_all_handled(const std::vector<std::string>& ids, const std::vector<std::string>& files,
                                        std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::set<std::string> handled;
    for (const auto& f : files)
      for (auto& s : read_lines(f)) handled.insert(std::move(s.id));
    std::size_t missing = 0;
    for (const auto& id : ids) missing += handled.contains(id) ? 0 : 1;
    if (missing == 0) co_return;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(std::to_string(missing) + " records not handled after " + std::to_string(limit.count()) + " ms");
    co_await sleep_for(250ms);
  }
}

asio::awaitable<void> stop_member(const member& m, const std::string& name, figures& f) {
  ::kill(m.pid, SIGTERM);
  const auto status = co_await wait_exit(m.pid, 60s);
  if (!status) ::kill(m.pid, SIGKILL), co_await wait_exit(m.pid, 10s);
  f.expect(status && *status == 0, "member " + name + " did not stop cleanly (status " +
                                       (status ? std::to_string(*status) : std::string("hung")) + ")");
  progress("member %s stopped (%s)", name.c_str(), status ? std::to_string(*status).c_str() : "hung");
}

asio::awaitable<void> kill_member(const member& m, const std::string& name) {
  ::kill(m.pid, SIGKILL);
  co_await wait_exit(m.pid, 10s);
  progress("member %s killed -9", name.c_str());
  co_await sleep_for(500ms);  // a commit request already on the wire lands before offsets are read
}

/// The records of `run` at or after the offset its group had committed when it died: what a
/// successor must handle again.
std::set<std::string> uncommitted(const std::vector<seen>& run, const std::map<std::int32_t, std::int64_t>& committed) {
  std::set<std::string> out;
  for (const auto& s : run) {
    const auto it = committed.find(s.partition);
    if (it == committed.end() || it->second < 0 || s.offset >= it->second) out.insert(s.id);
  }
  return out;
}

std::int64_t count_ids(const std::vector<std::vector<seen>>& runs) {
  std::int64_t n = 0;
  for (const auto& r : runs) n += static_cast<std::int64_t>(r.size());
  return n;
}

}  // namespace

figures consumer_crash(const options& o, cluster& c) {
  figures f{.scenario = "consumer-crash"};
  const auto started = std::chrono::steady_clock::now();
  const std::string suffix = kafka::new_uuid().substr(0, 8);
  const std::string topic = "chaos.consumer-crash." + suffix, group = "chaos-crash-" + suffix;
  create_topic(c.brokers(), topic, 12, 1);
  const std::int64_t count = o.count(50000, 5000);
  const auto ids = publish_ticks(c.brokers(), topic, count, 100);
  f.published = f.acked = count;
  const long handler_us = o.pick(2000L, 5000L);

  std::map<std::int32_t, std::int64_t> committed_at_kill;
  std::vector<seen> first, second;
  sync([&]() -> asio::awaitable<void> {
    const member m1 = start_member(o, c, topic, group, "crash-1", handler_us);
    co_await until_lines(m1.out, static_cast<std::size_t>(count * 40 / 100), 180s);
    co_await kill_member(m1, "crash-1");
    committed_at_kill = committed_offsets(c.brokers(), group, topic);
    first = read_lines(m1.out);
    const member m2 = start_member(o, c, topic, group, "crash-2", handler_us);
    const std::vector<std::string> both{m1.out, m2.out};  // (GCC 12: no braced lists in co_await)
    co_await until_all_handled(ids, both, 240s);
    co_await stop_member(m2, "crash-2", f);
    second = read_lines(m2.out);
  }());

  const judgement j = judge(ids, {first, second});
  f.lost = j.lost;
  f.duplicates = j.duplicates;
  f.reordered = j.reordered;
  f.handled = count_ids({first, second});
  // Every redelivery is a record the first run handled after its group's last commit.
  const auto expected = uncommitted(first, committed_at_kill);
  std::set<std::string> redelivered;
  const std::set<std::string> in_first = [&] {
    std::set<std::string> s;
    for (const auto& r : first) s.insert(r.id);
    return s;
  }();
  for (const auto& r : second)
    if (in_first.contains(r.id)) redelivered.insert(r.id);
  std::int64_t committed_total = 0;
  for (const auto& [p, off] : committed_at_kill) committed_total += std::max<std::int64_t>(off, 0);
  f.note("first_run", static_cast<std::int64_t>(first.size()));
  f.note("committed_at_kill", committed_total);
  f.note("redelivered", static_cast<std::int64_t>(redelivered.size()));
  f.note("expected_redeliveries", static_cast<std::int64_t>(expected.size()));
  f.note("commit_interval_ms", 1000);
  f.expect(j.lost == 0, std::to_string(j.lost) + " committed events never handled");
  f.expect(j.reordered == 0, std::to_string(j.reordered) + " per-key sequences going backwards within a run");
  f.expect(redelivered == expected, "redeliveries (" + std::to_string(redelivered.size()) +
                                        ") are not exactly the first run's records after its last commit (" +
                                        std::to_string(expected.size()) + ")");
  f.expect(j.duplicates == static_cast<std::int64_t>(redelivered.size()), "duplicates beyond the redeliveries");
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return f;
}

figures rebalance_churn(const options& o, cluster& c) {
  figures f{.scenario = "rebalance-churn"};
  const auto started = std::chrono::steady_clock::now();
  const std::string suffix = kafka::new_uuid().substr(0, 8);
  const std::string topic = "chaos.rebalance-churn." + suffix, group = "chaos-churn-" + suffix;
  create_topic(c.brokers(), topic, 12, 1);
  const std::int64_t count = o.count(60000, 6000);
  const auto ids = publish_ticks(c.brokers(), topic, count, 100);
  f.published = f.acked = count;
  const long handler_us = o.pick(10000L, 25000L);
  const int graceful = static_cast<int>(o.count(5, 2));

  std::vector<std::string> files;
  std::vector<seen> killed_run;
  std::map<std::int32_t, std::int64_t> committed_at_kill;
  sync([&]() -> asio::awaitable<void> {
    const member a = start_member(o, c, topic, group, "churn-a", handler_us);
    files.push_back(a.out);
    co_await until_lines(a.out, 50, 60s);
    for (int i = 1; i <= graceful + 1; ++i) {
      const std::string name = "churn-b" + std::to_string(i);
      const member b = start_member(o, c, topic, group, name, handler_us);
      files.push_back(b.out);
      co_await until_lines(b.out, 20, 60s);  // it joined and was given partitions
      co_await sleep_for(o.pick(3000ms, 1500ms));
      if (i <= graceful) {
        co_await stop_member(b, name, f);
      } else {
        co_await kill_member(b, name);
        committed_at_kill = committed_offsets(c.brokers(), group, topic);
        killed_run = read_lines(b.out);
      }
      co_await sleep_for(1000ms);
    }
    co_await until_all_handled(ids, files, 300s);
    co_await stop_member(a, "churn-a", f);
  }());

  std::vector<std::vector<seen>> runs;
  for (const auto& file : files) runs.push_back(read_lines(file));
  const judgement j = judge(ids, runs);
  f.lost = j.lost;
  f.duplicates = j.duplicates;
  f.reordered = j.reordered;
  f.handled = count_ids(runs);
  // Duplicates of records the killed member handled after its last commit are the kill's; any
  // other duplicate came from a graceful leave or join, and there must be none.
  const auto explained = uncommitted(killed_run, committed_at_kill);
  std::map<std::string, int> sightings;
  for (const auto& r : runs)
    for (const auto& s : r) ++sightings[s.id];
  std::int64_t after_kill = 0, graceful_dups = 0;
  for (const auto& [id, n] : sightings)
    if (n > 1) (explained.contains(id) && n == 2 ? after_kill : graceful_dups) += n - 1;
  f.note("joins", graceful + 1);
  f.note("graceful_leaves", graceful);
  f.note("kills", 1);
  f.note("duplicates_after_kill", after_kill);
  f.note("duplicates_graceful", graceful_dups);
  f.note("killed_uncommitted", static_cast<std::int64_t>(explained.size()));
  f.expect(j.lost == 0, std::to_string(j.lost) + " events never handled");
  f.expect(graceful_dups == 0, std::to_string(graceful_dups) + " duplicates not explained by the SIGKILL");
  f.expect(j.reordered == 0, std::to_string(j.reordered) + " per-key sequences going backwards within a run");
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return f;
}

}  // namespace chaos
