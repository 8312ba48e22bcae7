// What a database holds at one moment: server version, size, extensions and
// every table with its exact row count and size, read inside one snapshot so
// the manifest says exactly what the dump contains.
#pragma once

#include "util/expected.hpp"
#include "util/pg.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gate::steps {

struct TableFacts {
  std::string schema;
  std::string name;
  int64_t rows = 0;
  int64_t bytes = 0;
  bool partitioned = false;   // a partitioned parent: its rows live in its partitions
  std::string content_sha256; // of its ordered rows, when content fingerprints were asked for
  std::string qualified() const { return schema + "." + name; }
};

struct ViewFacts {
  std::string schema;
  std::string name;
  bool materialized = false;
  std::string qualified() const { return schema + "." + name; }
};

struct SequenceFacts {
  std::string schema;
  std::string name;
  int64_t last_value = 0;
  bool called = false;
  bool ascending = true;
  std::string qualified() const { return schema + "." + name; }
};

// What the manifest records beside the tables, to compare after a restore.
struct ObjectFacts {
  std::vector<std::pair<std::string, int64_t>>
      matview_rows; // schema.name of populated matviews, rows
  int64_t large_objects = 0;
  int64_t large_object_bytes = 0;
  std::string
      acl_fingerprint; // owners and grants of schemas, relations and functions (grantors aside)
};

struct DatabaseFacts {
  std::string database;
  int server_version_num = 0;
  std::string server_version;
  int64_t database_size = 0;
  bool superuser = false;
  std::string role;
  std::vector<std::pair<std::string, std::string>> extensions; // name, version
  std::vector<TableFacts> tables;
  std::vector<ViewFacts> views;
  ObjectFacts objects;
};

// True when `schema.name` is selected by the target's tables/exclude_tables
// globs (a pattern without a dot matches the table name in any schema).
bool table_selected(const std::string &schema, const std::string &name,
                    const std::vector<std::string> &tables,
                    const std::vector<std::string> &exclude);

// Reads the facts on `conn` (inside whatever transaction it is in), counting
// rows of the selected tables exactly.
util::Result<DatabaseFacts> read_database_facts(util::PgConnection &conn,
                                                const std::vector<std::string> &tables,
                                                const std::vector<std::string> &exclude,
                                                bool count_rows);

// The SHA-256 of each (non-partitioned) table's rows, streamed by COPY in a
// fixed order, into `tables[i].content_sha256`. Run inside the dump's
// snapshot, and again on a restored copy: equal hashes, equal contents.
util::Result<void> add_content_fingerprints(util::PgConnection &conn,
                                            std::vector<TableFacts> &tables);

// Matview rows, large objects and the ownership/ACL fingerprint on `conn`.
util::Result<ObjectFacts> read_object_facts(util::PgConnection &conn);
// Every sequence's state. Read before pg_dump starts: sequences are not
// transactional, so the dump holds these values or later (higher) ones.
util::Result<std::vector<SequenceFacts>> read_sequences(util::PgConnection &conn);
nlohmann::json to_json(const std::vector<SequenceFacts> &sequences);
std::vector<SequenceFacts> sequences_from_json(const nlohmann::json &details);

nlohmann::json to_json(const DatabaseFacts &facts);
// The tables from an artifact's details ({"tables": [...]}).
std::vector<TableFacts> tables_from_json(const nlohmann::json &details);

// A connection holding a REPEATABLE READ transaction whose snapshot was
// exported for pg_dump --snapshot. The snapshot lives as long as this object.
class ExportedSnapshot {
public:
  static util::Result<ExportedSnapshot> open(std::unique_ptr<util::PgConnection> conn);
  const std::string &id() const { return m_id; }
  util::PgConnection &connection() { return *m_conn; }

private:
  std::unique_ptr<util::PgConnection> m_conn;
  std::string m_id;
};

} // namespace gate::steps
