#include "steps/check/check.hpp"

#include "steps/postgres/restore.hpp"
#include "steps/postgres/standby.hpp"
#include "steps/postgres/target.hpp"
#include "steps/volume/source.hpp"
#include "steps/volume/standby.hpp"
#include "util/fault.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <cmath>
#include <fmt/format.h>

namespace gate::steps {

std::string CheckStep::label() const {
  switch (m_kind) {
  case CheckKind::connections:
    return "check connections";
  case CheckKind::disk_space:
    return "check disk_space";
  case CheckKind::sql:
    return "check sql on " + m_database;
  }
  return "check";
}

std::string CheckStep::plan(const RunContext &ctx) const {
  switch (m_kind) {
  case CheckKind::connections:
    return fmt::format("connect to {} database(s) and read {} volume(s)",
                       ctx.config.databases.size(), ctx.config.volumes.size());
  case CheckKind::disk_space:
    return fmt::format("want {} x the data size free on {}", ctx.config.space_factor,
                       ctx.config.backup_root.string());
  case CheckKind::sql:
    return fmt::format("run `{}` on {} and expect '{}'", m_query, m_database, m_expect);
  }
  return {};
}

util::Result<uint64_t> estimate_source_bytes(const config::PipelineConfig &config) {
  uint64_t total = 0;
  for (const auto &d : config.databases) {
    TRY_ASSIGN(auto pg, PgTarget::open(config, d));
    TRY_ASSIGN(auto conn, pg.connect("check"));
    TRY_ASSIGN(auto size, conn->scalar("SELECT pg_database_size(current_database())"));
    total += static_cast<uint64_t>(std::atoll(size.value_or("0").c_str()));
  }
  for (const auto &v : config.volumes) {
    TRY_ASSIGN(auto source, resolve_volume_source(config, v));
    TRY_ASSIGN(uint64_t bytes, util::tree_bytes(source.path));
    total += bytes;
  }
  return total;
}

namespace {

std::filesystem::path nearest_existing(std::filesystem::path p) {
  std::error_code ec;
  p = std::filesystem::absolute(p);
  while (!std::filesystem::exists(p, ec) && p.has_parent_path() && p != p.parent_path())
    p = p.parent_path();
  return p;
}

util::Result<StepResult> check_connections(const RunContext &ctx) {
  util::fault_point("run.preflight");
  std::vector<std::string> reached;
  for (const auto &d : ctx.config.databases) {
    TRY_ASSIGN(auto pg, PgTarget::open(ctx.config, d));
    TRY_ASSIGN(auto conn, pg.connect("check"));
    TRY_ASSIGN(PgTools tools, pg.tools_for(conn->server_version()));
    // What a standby and the configured rollback mode need is said now, not at rollback.
    if (auto standby = d.standby && ctx.build_standbys ? check_standby_privileges(ctx.config, d)
                                                       : util::Result<void>{};
        !standby)
      return failed(standby.error().message);
    if (auto allowed = check_rollback_privileges(ctx.config, d); !allowed)
      return failed(allowed.error().message);
    reached.push_back(fmt::format("{} (PostgreSQL {}, pg_dump {})", d.name,
                                  pg_version_string(conn->server_version()), tools.version));
  }
  for (const auto &v : ctx.config.volumes) {
    TRY_ASSIGN(auto source, resolve_volume_source(ctx.config, v));
    // A standby that cannot be kept is refused before any target is backed up.
    if (v.standby && ctx.build_standbys)
      if (auto possible = check_standby_possible(v.name, source.path); !possible)
        return failed(possible.error().message);
    reached.push_back(fmt::format("{} ({})", v.name, source.path.string()));
  }
  std::string list;
  for (const auto &r : reached)
    list += (list.empty() ? "" : ", ") + r;
  return passed("reached " + list);
}

util::Result<StepResult> check_disk_space(const RunContext &ctx) {
  if (auto writable = util::probe_writable_dir(ctx.config.backup_root); !writable)
    return failed("backup_root '" + ctx.config.backup_root.string() +
                  "' cannot hold backups: " + writable.error().message);
  TRY_ASSIGN(uint64_t data, estimate_source_bytes(ctx.config));
  auto where = nearest_existing(ctx.config.backup_root);
  TRY_ASSIGN(uint64_t free, util::free_bytes(where));
  auto needed =
      static_cast<uint64_t>(std::ceil(static_cast<double>(data) * ctx.config.space_factor));
  if (ctx.config.min_free && free < ctx.config.min_free)
    return failed(fmt::format("only {} free on '{}', below min_free {}", util::human_bytes(free),
                              where.string(), util::human_bytes(ctx.config.min_free)));
  if (free < needed)
    return failed(
        fmt::format("not enough disk space for backups: {} free on '{}', need {} ({} x {} of data, "
                    "space_factor)",
                    util::human_bytes(free), where.string(), util::human_bytes(needed),
                    ctx.config.space_factor, util::human_bytes(data)));
  return passed(fmt::format("{} free on {}, need {} ({} x {})", util::human_bytes(free),
                            where.string(), util::human_bytes(needed), ctx.config.space_factor,
                            util::human_bytes(data)));
}

} // namespace

util::Result<StepResult> CheckStep::run(RunContext &ctx) {
  switch (m_kind) {
  case CheckKind::connections:
    return check_connections(ctx);
  case CheckKind::disk_space:
    return check_disk_space(ctx);
  case CheckKind::sql: {
    const auto *d = ctx.config.find_database(m_database);
    TRY_ASSIGN(auto pg, PgTarget::open(ctx.config, *d));
    TRY_ASSIGN(auto conn, pg.connect("check"));
    auto value = conn->scalar(m_query);
    if (!value)
      return failed(fmt::format("check sql on '{}': {}", m_database, value.error().message));
    std::string got = value->value_or("NULL");
    if (got != m_expect)
      return failed(fmt::format("check sql on '{}': `{}` returned '{}', expected '{}'", m_database,
                                m_query, got, m_expect));
    return passed(fmt::format("`{}` returned '{}'", m_query, got));
  }
  }
  return failed("unknown check");
}

util::Result<std::unique_ptr<Step>> make_check_step(const config::Node &node,
                                                    const config::PipelineConfig &config) {
  TRY_ASSIGN(auto map, config::MapReader::open(node, "a check step",
                                               {"check", "database", "query", "expect"}));
  TRY_ASSIGN(auto kind_node, map.require("check"));
  TRY_ASSIGN(std::string kind, kind_node.as_string());
  std::unique_ptr<Step> step;
  if (kind == "connections") {
    step = std::make_unique<CheckStep>(CheckKind::connections, "", "", "");
  } else if (kind == "disk_space") {
    step = std::make_unique<CheckStep>(CheckKind::disk_space, "", "", "");
  } else if (kind == "sql") {
    TRY_ASSIGN(auto db_node, map.require("database"));
    TRY_ASSIGN(std::string db, db_node.as_string());
    if (!config.find_database(db)) {
      std::vector<std::string> names;
      for (const auto &d : config.databases)
        names.push_back(d.name);
      std::string message = "check sql: unknown database '" + db + "'";
      if (auto guess = util::closest_match(db, names))
        message += " (did you mean '" + *guess + "'?)";
      return std::unexpected(db_node.error(message));
    }
    TRY_ASSIGN(auto query_node, map.require("query"));
    TRY_ASSIGN(std::string query, query_node.as_string());
    TRY_ASSIGN(auto expect_node, map.require("expect"));
    TRY_ASSIGN(std::string expect, expect_node.as_string());
    step = std::make_unique<CheckStep>(CheckKind::sql, db, query, expect);
  } else {
    std::string message = "unknown check '" + kind + "' (expected connections, disk_space or sql)";
    if (auto guess = util::closest_match(kind, {"connections", "disk_space", "sql"}))
      message = "unknown check '" + kind + "' (did you mean '" + *guess + "'?)";
    return std::unexpected(kind_node.error(message));
  }
  TRY(map.finish());
  return step;
}

} // namespace gate::steps
