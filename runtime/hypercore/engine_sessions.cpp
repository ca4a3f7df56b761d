// SPDX-License-Identifier: Apache-2.0
// Sessions (through the session store) and retention (through the janitor).
#include "hypercore/engine_impl.hpp"

namespace hypercore {

namespace {

caf::expected<session_view> to_view(caf::expected<session_record> r) {
  if (!r) return r.error();
  auto data = nlohmann::json::parse(r->data, nullptr, false);
  if (data.is_discarded()) data = nlohmann::json::object();
  return session_view{std::move(r->id), std::move(data), r->expires_at_ms};
}

} // namespace

caf::expected<std::string> engine::create_session(const nlohmann::json& data,
                                                  std::chrono::seconds ttl) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  hypercore::create_session cmd{data.dump(), std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count()};
  auto created = m.ask<session_record>(m.sessions_handle(), m.request_timeout(), std::move(cmd));
  if (!created) return created.error();
  return created->id;
}

caf::expected<session_view> engine::session(const std::string& id) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  return to_view(m.ask<session_record>(m.sessions_handle(), m.request_timeout(), get_atom::value, id));
}

caf::expected<session_view> engine::update_session(const std::string& id,
                                                   const std::optional<nlohmann::json>& data,
                                                   std::optional<std::chrono::seconds> ttl) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  hypercore::update_session cmd;
  cmd.id = id;
  cmd.has_data = data.has_value();
  if (data) cmd.data = data->dump();
  if (ttl) cmd.ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*ttl).count();
  if (ttl && cmd.ttl_ms == 0)
    return make_error(errc::invalid_request, "ttl must be at least 1 second");
  return to_view(m.ask<session_record>(m.sessions_handle(), m.request_timeout(), std::move(cmd)));
}

caf::error engine::delete_session(const std::string& id) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  auto removed = m.ask<std::uint64_t>(m.sessions_handle(), m.request_timeout(), delete_atom::value, id);
  return removed ? caf::error{} : removed.error();
}

caf::expected<std::uint64_t> engine::sweep_sessions() {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  return m.ask<std::uint64_t>(m.sessions_handle(), m.request_timeout(), sweep_atom::value);
}

std::optional<nlohmann::json> engine::session_data(const std::string& id) {
  auto found = session(id);
  if (!found) return std::nullopt;
  return found->data;
}

caf::expected<std::uint64_t> engine::purge_expired() {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  return m.ask<std::uint64_t>(m.janitor_handle(), m.request_timeout(), sweep_atom::value);
}

} // namespace hypercore
