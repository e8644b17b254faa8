#pragma once
// The chat adapter the config asks for, for the bot and for the commands that ask the
// platform something (`platbot check`, `platbot policy`).
#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/config/config.hpp"

namespace platbot::net {
class HttpClient;
class HttpServer;
}
namespace platbot::store {
class StateStore;
}

namespace platbot::core {

// `server` serves Slack's HTTP delivery; `state` keeps what the Matrix adapter remembers.
std::unique_ptr<chat::ChatAdapter> make_adapter(const config::Config& config, const boost::asio::any_io_executor& executor,
                                               net::HttpClient& http, net::HttpServer& server, store::StateStore& state);

// What the ids of the platform `adapter` ("slack", "matrix", "console") look like, for the
// directory to tell ids in config from names to look up.
chat::IdShapes id_shapes(std::string_view adapter);

}  // namespace platbot::core
