// Measurement prototype for issue 10 (not built by CMake): Beast async HTTP/1.1 server, one io thread, POST /v1/jobs parses JSON, answers 202.
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>
#include <iostream>
#include <memory>
namespace beast = boost::beast; namespace http = beast::http; namespace asio = boost::asio;
using tcp = asio::ip::tcp;
static std::string handle(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return R"({"error":{"code":"invalid_json"}})";
  static std::atomic<unsigned long> n{0};
  return nlohmann::json{{"id", std::to_string(++n)}, {"kind", j.value("kind", "")}}.dump();
}
struct session : std::enable_shared_from_this<session> {
  beast::tcp_stream s; beast::flat_buffer buf; std::optional<http::request_parser<http::string_body>> p; http::response<http::string_body> res;
  explicit session(tcp::socket&& so) : s(std::move(so)) {}
  void read() { p.emplace(); p->header_limit(8192); p->body_limit(1<<20); s.expires_after(std::chrono::seconds(60));
    http::async_read(s, buf, *p, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); }); }
  void on_read(beast::error_code ec) {
    if (ec) { s.socket().shutdown(tcp::socket::shutdown_send, ec); return; }
    auto req = p->release(); res = {}; res.version(11); res.keep_alive(req.keep_alive());
    res.result(202); res.set(http::field::content_type, "application/json"); res.body() = handle(req.body()); res.prepare_payload();
    http::async_write(s, res, [self = shared_from_this()](beast::error_code ec, std::size_t) { if (!ec && self->res.keep_alive()) self->read(); });
  }
};
struct listener : std::enable_shared_from_this<listener> {
  tcp::acceptor a; listener(asio::io_context& io, tcp::endpoint ep) : a(io, ep) {}
  void accept() { a.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket so) {
    if (!ec) { so.set_option(tcp::no_delay(true)); std::make_shared<session>(std::move(so))->read(); } self->accept(); }); }
};
int main(int argc, char** argv) {
  asio::io_context io{1};
  auto l = std::make_shared<listener>(io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), (unsigned short)std::atoi(argv[1])});
  l->accept(); io.run();
}
