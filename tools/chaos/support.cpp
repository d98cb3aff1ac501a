// The shared parts of txova-chaos: figures, processes, the brokers, the ledger.
#include "chaos.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace chaos {

const txova::kafka::catalog& chaos_catalog() {
  static const txova::kafka::catalog c = txova::kafka::catalog::of<tick>();
  return c;
}

void print(const figures& f) {
  std::printf("reliability scenario=%s published=%lld acked=%lld lost=%lld duplicates=%lld reordered=%lld "
              "dead_lettered=%lld handled=%lld seconds=%.1f\n",
              f.scenario.c_str(), static_cast<long long>(f.published), static_cast<long long>(f.acked),
              static_cast<long long>(f.lost), static_cast<long long>(f.duplicates), static_cast<long long>(f.reordered),
              static_cast<long long>(f.dead_lettered), static_cast<long long>(f.handled), f.seconds);
  std::string detail = "reliability_detail scenario=" + f.scenario;
  for (const auto& [k, v] : f.detail) detail += " " + k + "=" + v;
  std::printf("%s\n", detail.c_str());
  for (const auto& b : f.broken) std::printf("reliability_broken scenario=%s %s\n", f.scenario.c_str(), b.c_str());
  std::fflush(stdout);
}

void progress(const char* fmt, ...) {
  static const auto start = std::chrono::steady_clock::now();
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "[chaos %7.1fs] ", t);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
}

// ---- processes ----------------------------------------------------------------------------------

namespace {
pid_t spawn_to(const std::vector<std::string>& argv, const std::string& out_file, const std::string& err_file) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty command");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // The child: its own process group (so a kill of the director's children reaches no one else),
    // output appended to the files, then exec.
    ::setpgid(0, 0);
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}
}  // namespace

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_file) {
  return spawn_to(argv, log_file, log_file);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<std::optional<int>> wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) co_return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) throw std::runtime_error("waitpid " + std::to_string(pid) + ": " + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) co_return std::nullopt;
    co_await sleep_for(50ms);
  }
}

std::string tail(const std::string& file, int lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "  | " + l + "\n";
  return out;
}

asio::awaitable<std::string> run(std::vector<std::string> argv, std::string log_file, std::chrono::milliseconds limit) {
  const std::string out_file = log_file + ".stdout";
  ::unlink(out_file.c_str());
  const pid_t pid = spawn_to(argv, out_file, log_file);
  const auto status = co_await wait_exit(pid, limit);
  std::string command;
  for (const auto& a : argv) {
    if (!command.empty()) command += ' ';
    command += a;
  }
  if (!status) {
    ::kill(-pid, SIGKILL);
    co_await wait_exit(pid, 5s);
    throw std::runtime_error(command + ": still running after " + std::to_string(limit.count()) + " ms (log " + log_file +
                             ")\n" + tail(log_file));
  }
  if (*status != 0)
    throw std::runtime_error(command + ": exit status " + std::to_string(*status) + " (log " + log_file + ")\n" +
                             tail(log_file));
  std::ifstream in(out_file);
  co_return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- brokers ------------------------------------------------------------------------------------

asio::awaitable<std::string> cluster::script(std::vector<std::string> args, std::chrono::milliseconds limit) {
  std::vector<std::string> argv{"bash", opt_->script};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--state-dir", dir_});
  co_return co_await run(argv, dir_ + ".script.log", limit);
}

namespace {
std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}
}  // namespace

asio::awaitable<void> cluster::start(int nodes) {
  progress("starting %d broker node(s) in %s", nodes, dir_.c_str());
  std::vector<std::string> args{"start", "--nodes", std::to_string(nodes)};  // (GCC 12: no braced lists in co_await)
  brokers_ = last_line(co_await script(std::move(args), 300s));
  if (brokers_.empty()) throw std::runtime_error("kafka-broker start printed no address (log " + dir_ + ".script.log)");
  progress("brokers %s", brokers_.c_str());
}

asio::awaitable<void> cluster::kill(int node) {
  progress("kill -9 node %d", node);
  std::vector<std::string> args{"kill", "--node", std::to_string(node)};
  co_await script(std::move(args), 60s);
}

asio::awaitable<void> cluster::restart(int node) {
  progress("restarting node %d", node);
  std::vector<std::string> args{"restart", "--node", std::to_string(node)};
  co_await script(std::move(args), 300s);
  progress("node %d serves again", node);
}

asio::awaitable<void> cluster::stop() {
  progress("stopping brokers in %s", dir_.c_str());
  std::vector<std::string> args{"stop"};
  co_await script(std::move(args), 120s);
}

asio::awaitable<int> cluster::leader_of_most(const std::string& topic) {
  std::string text;
  try {
    std::vector<std::string> args{"status"};
    text = co_await script(std::move(args), 60s);
  } catch (const std::exception&) {
    text.clear();  // status exits 1 when a node is down; leadership is still what we need
    std::ifstream in(dir_ + ".script.log.stdout");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  // "node ID STATE pid PID ADDR leads K partitions: TOPIC-P ..."
  int best = 1;
  std::size_t best_count = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string word;
    int id = 0;
    if (!(words >> word) || word != "node" || !(words >> id)) continue;
    std::size_t count = 0;
    while (words >> word)
      if (word.rfind(topic + "-", 0) == 0) ++count;
    if (count > best_count) best = id, best_count = count;
  }
  co_return best;
}

// ---- the ledger ---------------------------------------------------------------------------------

std::string to_line(const seen& s) {
  return s.id + " " + s.key + " " + std::to_string(s.seq) + " " + std::to_string(s.partition) + " " +
         std::to_string(s.offset) + "\n";
}

std::vector<seen> read_lines(const std::string& file) {
  std::ifstream in(file);
  std::string text(std::istreambuf_iterator<char>(in), {});
  std::vector<seen> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::istringstream line(text.substr(start, nl - start));
    seen s;
    if (line >> s.id >> s.key >> s.seq >> s.partition >> s.offset) out.push_back(std::move(s));
  }
  return out;
}

judgement judge(const std::vector<std::string>& expected, const std::vector<std::vector<seen>>& lists,
                const std::vector<std::string>* published) {
  judgement j;
  std::map<std::string, int> sightings;
  for (const auto& list : lists) {
    std::map<std::pair<std::int32_t, std::string>, std::int64_t> last_seq;
    for (const auto& s : list) {
      ++j.seen;
      if (++sightings[s.id] > 1) ++j.duplicates;
      auto [it, fresh] = last_seq.try_emplace({s.partition, s.key}, s.seq);
      if (!fresh) {
        if (s.seq < it->second) ++j.reordered;
        it->second = std::max(it->second, s.seq);
      }
    }
  }
  for (const auto& id : expected)
    if (!sightings.contains(id)) ++j.lost;
  const std::set<std::string> known = [&] {
    std::set<std::string> k(expected.begin(), expected.end());
    if (published) k.insert(published->begin(), published->end());
    return k;
  }();
  for (const auto& [id, n] : sightings)
    if (!known.contains(id)) ++j.unexpected;
  return j;
}

}  // namespace chaos
