#pragma once
// A small HTTP/1.1 server on the bot's io_context (Boost.Beast, one coroutine per
// connection) for health and status endpoints, and later metrics and Slack's HTTP
// delivery. Routes are exact method + path; handlers run on the loop and must not block.
// Bodies over 1 MiB are answered 413 without reaching a handler. Connections are capped:
// at the cap the server stops accepting (the kernel's backlog holds the rest) until one
// closes, and a failing accept (out of descriptors) backs off instead of spinning.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/common/result.hpp"

namespace platbot::net {

struct ServerRequest {
    std::string method;
    std::string target;  // path and query
    std::string path;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;

    // The first header with this (lower-case) name, or empty.
    std::string header(std::string_view name) const;
};

struct ServerResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

using ServerHandler = std::function<ServerResponse(const ServerRequest&)>;
// For handlers that must wait for something (a durable write) before they answer. The
// request stays alive until the answer is ready.
using AsyncServerHandler = std::function<boost::asio::awaitable<ServerResponse>(const ServerRequest&)>;

struct HttpServerLimits {
    std::size_t max_connections = 256;
};

class HttpServer {
public:
    explicit HttpServer(boost::asio::any_io_executor executor, HttpServerLimits limits = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void route(std::string method, std::string path, ServerHandler handler);
    void route(std::string method, std::string path, AsyncServerHandler handler);

    // Binds `host:port` (port 0 picks a free one) and starts accepting. The error names
    // the address and what to change.
    Result<unsigned short> listen(const std::string& host, unsigned short port);
    // Stops accepting and closes open connections.
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace platbot::net
