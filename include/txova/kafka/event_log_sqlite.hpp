#pragma once
// The event log's embedded store: one SQLite file (WAL journal), indexed by correlation id, key,
// type and time. Target txova::kafka_eventlog. Use it from one thread at a time.
#include <txova/kafka/event_log.hpp>

#include <memory>
#include <string>

namespace txova::kafka {

/// Opens (creating when absent) the store at `path`; ":memory:" keeps it in memory.
boost::system::result<std::unique_ptr<event_log_store>, diagnostic> open_sqlite_event_log(const std::string& path);

}  // namespace txova::kafka
