// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/messages.hpp"

#include "hypercore/core/feed_messages.hpp"

#include <caf/actor_system_config.hpp>

namespace hypercore {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<job_id>("hypercore::job_id");
  cfg.add_message_type<std::vector<job_id>>("std::vector<hypercore::job_id>");
  cfg.add_message_type<job_status>("hypercore::job_status");
  cfg.add_message_type<job_spec>("hypercore::job_spec");
  cfg.add_message_type<std::vector<job_spec>>("std::vector<hypercore::job_spec>");
  cfg.add_message_type<error_entry>("hypercore::error_entry");
  cfg.add_message_type<job>("hypercore::job");
  cfg.add_message_type<std::vector<job>>("std::vector<hypercore::job>");
  cfg.add_message_type<job_ref>("hypercore::job_ref");
  cfg.add_message_type<append_jobs>("hypercore::append_jobs");
  cfg.add_message_type<append_receipt>("hypercore::append_receipt");
  cfg.add_message_type<ticketed_append>("hypercore::ticketed_append");
  cfg.add_message_type<ticket_answer>("hypercore::ticket_answer");
  cfg.add_message_type<ticket_answers>("hypercore::ticket_answers");
  cfg.add_message_type<record_start>("hypercore::record_start");
  cfg.add_message_type<record_outcome>("hypercore::record_outcome");
  cfg.add_message_type<replay_dead>("hypercore::replay_dead");
  cfg.add_message_type<purge_jobs>("hypercore::purge_jobs");
  cfg.add_message_type<put_session>("hypercore::put_session");
  cfg.add_message_type<delete_sessions>("hypercore::delete_sessions");
  cfg.add_message_type<create_session>("hypercore::create_session");
  cfg.add_message_type<update_session>("hypercore::update_session");
  cfg.add_message_type<session_record>("hypercore::session_record");
  cfg.add_message_type<run_job>("hypercore::run_job");
  cfg.add_message_type<job_finished>("hypercore::job_finished");
  cfg.add_message_type<partition_stats>("hypercore::partition_stats");
  cfg.add_message_type<pool_stats>("hypercore::pool_stats");
  cfg.add_message_type<journal_stats>("hypercore::journal_stats");
  cfg.add_message_type<drain_report>("hypercore::drain_report");
  cfg.add_message_type<transition_cause>("hypercore::transition_cause");
  cfg.add_message_type<transition>("hypercore::transition");
  cfg.add_message_type<std::vector<transition>>("std::vector<hypercore::transition>");
  cfg.add_message_type<committed>("hypercore::committed");
  cfg.add_message_type<feed_filter>("hypercore::feed_filter");
  cfg.add_message_type<subscribe_feed>("hypercore::subscribe_feed");
  cfg.add_message_type<feed_batch>("hypercore::feed_batch");
  cfg.add_message_type<feed_gap>("hypercore::feed_gap");
  cfg.add_message_type<feed_stats>("hypercore::feed_stats");
}

} // namespace hypercore
