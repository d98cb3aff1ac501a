// The SQLite event log store (event_log_sqlite.hpp). Every statement is prepared once; an append
// is one transaction (events, then the partitions' offsets); an event already stored is ignored
// by its (topic, partition, offset) key, so a batch written again after a crash adds nothing.
#include <txova/kafka/event_log_sqlite.hpp>

#include <sqlite3.h>

#include <cstring>
#include <memory>

namespace txova::kafka {

namespace {

constexpr const char* schema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
  key BLOB, headers BLOB, broker_time INTEGER,
  id TEXT, type TEXT, version TEXT, source TEXT, time INTEGER,
  correlation_id TEXT, causation_id TEXT, actor_id TEXT, actor_type TEXT, payload TEXT,
  value BLOB, error TEXT,
  UNIQUE (topic, partition, "offset"));
CREATE INDEX IF NOT EXISTS events_by_correlation ON events (correlation_id);
CREATE INDEX IF NOT EXISTS events_by_key ON events (key);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, time);
CREATE INDEX IF NOT EXISTS events_by_time ON events (time);
CREATE TABLE IF NOT EXISTS offsets (
  topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, partition));
)sql";

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_closer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using statement = std::unique_ptr<sqlite3_stmt, stmt_closer>;

std::int64_t ns_of(timestamp t) { return t.time_since_epoch().count(); }
timestamp time_of(std::int64_t ns) { return timestamp(std::chrono::nanoseconds(ns)); }

// Headers as a blob: for each, the name's and the value's 4-byte length and bytes (any bytes).
std::string pack(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  const auto put = [&](const std::string& s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    out.append(reinterpret_cast<const char*>(&n), 4);
    out += s;
  };
  for (const auto& [k, v] : headers) put(k), put(v);
  return out;
}
std::vector<std::pair<std::string, std::string>> unpack(std::string_view b) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  const auto get = [&](std::string& s) {
    std::uint32_t n = 0;
    if (b.size() - i < 4) return false;
    std::memcpy(&n, b.data() + i, 4);
    i += 4;
    if (b.size() - i < n) return false;
    s.assign(b.data() + i, n);
    i += n;
    return true;
  };
  while (i < b.size()) {
    std::pair<std::string, std::string> h;
    if (!get(h.first) || !get(h.second)) break;
    out.push_back(std::move(h));
  }
  return out;
}

// A SQL GLOB for a type pattern: "ride.*" matches ride.<anything>; other GLOB characters are literal.
std::string glob_of(std::string_view pattern) {
  std::string out;
  for (char c : pattern) {
    if (c == '?' || c == '[') out += std::string("[") + c + "]";
    else out += c;
  }
  return out;
}

class sqlite_store final : public event_log_store {
public:
  explicit sqlite_store(sqlite3* db) : db_(db) {}

  diagnostic init() {
    if (auto d = exec(schema)) return d;
    if (auto d = prepare(insert_, "INSERT OR IGNORE INTO events (topic, partition, \"offset\", key, headers, broker_time, id, type, "
                                  "version, source, time, correlation_id, causation_id, actor_id, actor_type, payload, value, error) "
                                  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
      return d;
    if (auto d = prepare(offset_, "INSERT INTO offsets (topic, partition, next_offset) VALUES (?,?,?) ON CONFLICT (topic, partition) "
                                  "DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)"))
      return d;
    if (auto d = prepare(next_, "SELECT next_offset FROM offsets WHERE topic = ? AND partition = ?")) return d;
    return prepare(count_, "SELECT count(*) FROM events");
  }

  diagnostic append(std::vector<logged_event>& events, const std::vector<stored_offset>& offsets) override {
    if (auto d = exec("BEGIN IMMEDIATE")) return d;
    for (auto& e : events) {
      sqlite3_stmt* s = insert_.get();
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      text(s, 1, e.topic);
      sqlite3_bind_int(s, 2, e.partition);
      sqlite3_bind_int64(s, 3, e.offset);
      if (e.key) blob(s, 4, *e.key);
      const std::string h = pack(e.headers);
      blob(s, 5, h);
      sqlite3_bind_int64(s, 6, ns_of(e.broker_time));
      if (e.event) {
        const envelope& v = *e.event;
        text(s, 7, v.id), text(s, 8, v.type), text(s, 9, v.version), text(s, 10, v.source);
        sqlite3_bind_int64(s, 11, ns_of(v.time));
        text(s, 12, v.correlation_id);
        if (v.causation_id) text(s, 13, *v.causation_id);
        if (v.actor) text(s, 14, v.actor->id), text(s, 15, v.actor->type);
        text(s, 16, v.payload);
      }
      blob(s, 17, e.value);
      if (!e.error.empty()) text(s, 18, e.error);
      if (sqlite3_step(s) != SQLITE_DONE) return rollback("storing " + e.topic + "[" + std::to_string(e.partition) + "]@" +
                                                          std::to_string(e.offset));
      e.sequence = sqlite3_changes(db_.get()) ? sqlite3_last_insert_rowid(db_.get()) : 0;
    }
    for (const auto& o : offsets) {
      sqlite3_stmt* s = offset_.get();
      sqlite3_reset(s);
      text(s, 1, o.topic);
      sqlite3_bind_int(s, 2, o.partition);
      sqlite3_bind_int64(s, 3, o.next_offset);
      if (sqlite3_step(s) != SQLITE_DONE) return rollback("storing the offset of " + o.topic);
    }
    return exec("COMMIT");
  }

  boost::system::result<std::optional<std::int64_t>, diagnostic> next_offset(std::string_view topic, std::int32_t partition) override {
    sqlite3_stmt* s = next_.get();
    sqlite3_reset(s);
    text(s, 1, topic);
    sqlite3_bind_int(s, 2, partition);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return std::optional<std::int64_t>(sqlite3_column_int64(s, 0));
    if (rc == SQLITE_DONE) return std::optional<std::int64_t>();
    return failure("reading the offset of " + std::string(topic));
  }

  boost::system::result<std::vector<logged_event>, diagnostic> query(const event_query& q) override {
    std::string sql =
        "SELECT seq, topic, partition, \"offset\", key, headers, broker_time, id, type, version, source, time, correlation_id, "
        "causation_id, actor_id, actor_type, payload, value, error FROM events WHERE seq > ?1";
    if (q.correlation_id) sql += " AND correlation_id = ?2";
    if (q.key) sql += " AND key = ?3";
    // With a time range, "+type" keeps SQLite on the time index (it walks the range in order and
    // stops at the LIMIT) instead of the type index, which would sort every match of the type.
    const std::string type_column = q.since || q.until ? " AND +type" : " AND type";
    if (q.type && *q.type != "*") sql += type_column + (q.type->find_first_of('*') == std::string::npos ? " = ?4" : " GLOB ?4");
    if (q.since) sql += " AND time >= ?5";
    if (q.until) sql += " AND time < ?6";
    if (q.topic) sql += " AND topic = ?7";
    // By time when a time range is asked: the time index then gives the rows in order and the
    // LIMIT stops the scan (ordered by seq, SQLite would sort every match first).
    sql += q.since || q.until ? " ORDER BY time, seq LIMIT ?8" : " ORDER BY seq LIMIT ?8";
    statement st;
    if (auto d = prepare(st, sql.c_str())) return d;
    sqlite3_stmt* s = st.get();
    sqlite3_bind_int64(s, 1, q.after_sequence);
    if (q.correlation_id) text(s, 2, *q.correlation_id);
    if (q.key) blob(s, 3, *q.key);
    if (q.type && *q.type != "*") text(s, 4, glob_of(*q.type));
    if (q.since) sqlite3_bind_int64(s, 5, ns_of(*q.since));
    if (q.until) sqlite3_bind_int64(s, 6, ns_of(*q.until));
    if (q.topic) text(s, 7, *q.topic);
    sqlite3_bind_int64(s, 8, static_cast<std::int64_t>(q.limit));
    std::vector<logged_event> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(row(s));
    if (rc != SQLITE_DONE) return failure("querying events");
    return out;
  }

  boost::system::result<std::size_t, diagnostic> prune(const retention& r, std::size_t batch) override {
    std::size_t deleted = 0;
    if (r.max_age) {
      const auto cutoff = ns_of(now_utc() - std::chrono::duration_cast<std::chrono::nanoseconds>(*r.max_age));
      auto n = delete_where("seq IN (SELECT seq FROM events WHERE time < " + std::to_string(cutoff) + " ORDER BY time LIMIT " +
                            std::to_string(batch) + ")");
      if (!n) return n;
      deleted += *n;
    }
    if (r.max_events && deleted < batch) {
      auto total = count();
      if (!total) return total.error();
      if (*total > *r.max_events) {
        const auto excess = std::min<std::uint64_t>(*total - *r.max_events, batch - deleted);
        auto n = delete_where("seq IN (SELECT seq FROM events ORDER BY seq LIMIT " + std::to_string(excess) + ")");
        if (!n) return n;
        deleted += *n;
      }
    }
    return deleted;
  }

  boost::system::result<std::uint64_t, diagnostic> count() override {
    sqlite3_stmt* s = count_.get();
    sqlite3_reset(s);
    if (sqlite3_step(s) != SQLITE_ROW) return failure("counting events");
    return static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
  }

private:
  static void text(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static void blob(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string column(sqlite3_stmt* s, int i) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
  }
  static logged_event row(sqlite3_stmt* s) {
    logged_event e;
    e.sequence = sqlite3_column_int64(s, 0);
    e.topic = column(s, 1);
    e.partition = sqlite3_column_int(s, 2);
    e.offset = sqlite3_column_int64(s, 3);
    if (sqlite3_column_type(s, 4) != SQLITE_NULL) e.key = column(s, 4);
    e.headers = unpack(column(s, 5));
    e.broker_time = time_of(sqlite3_column_int64(s, 6));
    if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
      envelope v;
      v.id = column(s, 7), v.type = column(s, 8), v.version = column(s, 9), v.source = column(s, 10);
      v.time = time_of(sqlite3_column_int64(s, 11));
      v.correlation_id = column(s, 12);
      if (sqlite3_column_type(s, 13) != SQLITE_NULL) v.causation_id = column(s, 13);
      if (sqlite3_column_type(s, 14) != SQLITE_NULL) v.actor = actor{column(s, 14), column(s, 15)};
      v.payload = column(s, 16);
      e.event = std::move(v);
    }
    e.value = column(s, 17);
    e.error = column(s, 18);
    return e;
  }
  boost::system::result<std::size_t, diagnostic> delete_where(const std::string& condition) {
    if (auto d = exec(("DELETE FROM events WHERE " + condition).c_str())) return d;
    return static_cast<std::size_t>(sqlite3_changes(db_.get()));
  }
  diagnostic exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg) == SQLITE_OK) return {};
    std::string why = msg ? msg : sqlite3_errmsg(db_.get());
    sqlite3_free(msg);
    return make_diagnostic(error::internal, "event_log", std::string("SQLite: ") + why + " (in: " + std::string(sql).substr(0, 60) + ")");
  }
  diagnostic prepare(statement& st, const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &s, nullptr) != SQLITE_OK) return failure("preparing a statement");
    st.reset(s);
    return {};
  }
  diagnostic failure(const std::string& what) const {
    return make_diagnostic(error::internal, "event_log", "SQLite failed " + what + ": " + sqlite3_errmsg(db_.get()));
  }
  diagnostic rollback(const std::string& what) {
    diagnostic d = failure(what);
    exec("ROLLBACK");
    return d;
  }

  std::unique_ptr<sqlite3, db_closer> db_;
  statement insert_, offset_, next_, count_;
};

}  // namespace

boost::system::result<std::unique_ptr<event_log_store>, diagnostic> open_sqlite_event_log(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto store = std::make_unique<sqlite_store>(db);  // owns db, even when opening failed
  if (rc != SQLITE_OK)
    return make_diagnostic(error::invalid_config, "path", "cannot open the event log \"" + path + "\": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db, 5000);
  if (auto d = store->init()) return d;
  return std::unique_ptr<event_log_store>(std::move(store));
}

}  // namespace txova::kafka
