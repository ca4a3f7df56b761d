// Measurement prototype for issue 10 (not built by CMake): RESTinio server, one thread, POST /v1/jobs parses JSON, answers 202.
#include <restinio/all.hpp>
#include <nlohmann/json.hpp>
static std::string handle(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return R"({"error":{"code":"invalid_json"}})";
  static std::atomic<unsigned long> n{0};
  return nlohmann::json{{"id", std::to_string(++n)}, {"kind", j.value("kind", "")}}.dump();
}
int main(int argc, char** argv) {
  restinio::run(restinio::on_this_thread<>().port(std::atoi(argv[1])).address("127.0.0.1")
    .request_handler([](auto req) {
      return req->create_response(restinio::status_created()).append_header(restinio::http_field::content_type, "application/json")
        .set_body(handle(req->body())).done(); }));
}
