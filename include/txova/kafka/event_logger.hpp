#pragma once
// The event log service's loop (txova-eventlog, docs/event-log.md): a consumer of a set of topics
// whose records are stored in batches, each batch and its partitions' offsets in one transaction
// of the store; on assignment a partition resumes from the store's offset. A kill at any point
// therefore neither loses nor duplicates an event in the store.
#include <txova/kafka/config.hpp>
#include <txova/kafka/event_log.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace txova::kafka {

struct event_logger_config {
  consumer_config source{};                  ///< brokers, group ("txova-eventlog" if unset), topics (the catalog's if empty)
  std::size_t batch_records = 2000;          ///< a batch is stored when it has this many records
  std::chrono::milliseconds batch_wait{50};  ///< or when its first record has waited this long
  retention keep{};                          ///< what pruning keeps (nothing pruned when unset)
  std::chrono::milliseconds prune_interval{1000};  ///< one pruning batch per interval, between ingestion batches
  std::size_t prune_batch = 5000;
};

struct event_logger_stats {
  std::uint64_t stored = 0;   ///< records stored (duplicates a redelivery brought are not counted)
  std::uint64_t batches = 0;
  std::uint64_t pruned = 0;
  std::uint64_t not_envelopes = 0;  ///< stored with the reason they are not envelopes
};

namespace detail {
class event_logger_core;
using event_logger_done = boost::asio::any_completion_handler<void(boost::system::error_code)>;
std::shared_ptr<event_logger_core> make_event_logger(boost::asio::any_io_executor ex, event_log_store& store, event_logger_config cfg);
void start_event_logger(const std::shared_ptr<event_logger_core>& core, event_logger_done done);
void stop(event_logger_core& core);
event_logger_stats stats(const event_logger_core& core);
diagnostic failure(const event_logger_core& core);
}  // namespace detail

class event_logger {
public:
  /// `store` must outlive the logger.
  event_logger(boost::asio::any_io_executor ex, event_log_store& store, event_logger_config cfg)
      : core_(detail::make_event_logger(std::move(ex), store, std::move(cfg))) {}

  /// Consumes and stores until stop() (success) or a store failure (that error; failure() says
  /// what); what was fetched but not stored is fetched again by the next run.
  template <boost::asio::completion_token_for<void(boost::system::error_code)> Token =
                boost::asio::default_completion_token_t<boost::asio::any_io_executor>>
  auto async_run(Token&& token = {}) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [core = core_](auto handler) { detail::start_event_logger(core, std::move(handler)); }, token);
  }
  void stop() { detail::stop(*core_); }
  event_logger_stats stats() const { return detail::stats(*core_); }
  diagnostic failure() const { return detail::failure(*core_); }

private:
  std::shared_ptr<detail::event_logger_core> core_;
};

}  // namespace txova::kafka
