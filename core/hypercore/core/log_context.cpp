// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/log_context.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace hypercore {

namespace {

thread_local std::vector<log_field> fields_of_thread;
std::atomic<bool> payloads_on{false};

bool looks_secret(const std::string& key) {
  std::string lower(key.size(), '\0');
  std::transform(key.begin(), key.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* word : {"api_key", "apikey", "api-key", "token", "password", "secret",
                           "authorization"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

void redact(nlohmann::json& value) {
  if (value.is_object()) {
    for (auto& [key, child] : value.items()) {
      if (looks_secret(key)) child = "[redacted]";
      else redact(child);
    }
  } else if (value.is_array()) {
    for (auto& child : value) redact(child);
  }
}

} // namespace

log_scope::log_scope(std::vector<log_field> fields) : added_(fields.size()) {
  for (auto& f : fields) fields_of_thread.push_back(std::move(f));
}

log_scope::~log_scope() { fields_of_thread.resize(fields_of_thread.size() - added_); }

const std::vector<log_field>& log_scope::current() { return fields_of_thread; }

bool log_payloads() { return payloads_on.load(std::memory_order_relaxed); }

void set_log_payloads(bool on) { payloads_on.store(on, std::memory_order_relaxed); }

std::string redacted(std::string_view json_text) {
  auto parsed = nlohmann::json::parse(json_text, nullptr, false);
  if (parsed.is_discarded()) return "[not JSON: " + std::to_string(json_text.size()) + " bytes]";
  redact(parsed);
  return parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace hypercore
