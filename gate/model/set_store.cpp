#include "model/set_store.hpp"

namespace gate::model {

util::Result<SetInfo> SetStore::find(const std::string &id) const {
  TRY_ASSIGN(auto sets, list(IncludeFailed::yes));
  for (auto &s : sets)
    if (s.id == id) return s;
  std::string hint;
  for (auto &s : sets)
    if (!s.failed && s.manifest && s.manifest->kind != "pre-rollback") {
      hint = "\nhint: the newest backup is '" + s.id + "'; `gate list` shows them all";
      break;
    }
  return util::fail("no backup set '" + id + "' in '" + location() + "'" + hint);
}

} // namespace gate::model
