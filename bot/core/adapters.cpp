#include "bot/core/adapters.hpp"

#include <unistd.h>

#include "bot/chat/console/console_adapter.hpp"
#include "bot/chat/matrix/matrix_adapter.hpp"
#include "bot/chat/matrix/sync.hpp"
#include "bot/chat/slack/events.hpp"
#include "bot/chat/slack/slack_adapter.hpp"
#include "bot/store/state.hpp"

namespace platbot::core {

namespace asio = boost::asio;

std::unique_ptr<chat::ChatAdapter> make_adapter(const config::Config& config, const asio::any_io_executor& executor,
                                               net::HttpClient& http, net::HttpServer& server, store::StateStore& state) {
    if (config.adapter == "matrix") {
        chat::matrix::MatrixOptions matrix;
        matrix.client.homeserver = config.matrix.homeserver;
        matrix.client.access_token = config.matrix.access_token;
        matrix.client.user = config.matrix.user;
        matrix.client.password = config.matrix.password;
        matrix.client.verify_tls = config.matrix.verify_tls;
        matrix.client.ca_bundle = config.matrix.ca_bundle;
        matrix.client.timeout = config.matrix.timeout;
        matrix.client.instance = config.instance;
        matrix.token_source = config.matrix.access_token_source;
        matrix.prefix = config.prefix;
        matrix.sync_timeout = config.matrix.sync_timeout;
        matrix.join_users = config.matrix.join_users;
        matrix.join_servers = config.matrix.join_servers;
        return std::make_unique<chat::matrix::MatrixAdapter>(executor, http, state, matrix);
    }
    if (config.adapter == "slack") {
        chat::slack::SlackOptions slack;
        slack.api.base_url = config.slack.api_url;
        slack.api.token = config.slack.bot_token;
        slack.api.verify_tls = config.slack.verify_tls;
        slack.api.ca_bundle = config.slack.ca_bundle;
        slack.api.messages_per_second = config.slack.messages_per_second;
        slack.api.message_burst = config.slack.message_burst;
        slack.api.pace = config.slack.pace;
        slack.app_token = config.slack.app_token;
        slack.bot_token_source = config.slack.bot_token_source;
        slack.app_token_source = config.slack.app_token_source;
        slack.prefix = config.prefix;
        slack.connections = config.slack.connections;
        if (config.slack.socket_scheme != "auto") slack.socket_scheme = config.slack.socket_scheme;
        slack.idle_timeout = config.slack.idle_timeout;
        if (config.slack.mode == "http") {
            slack.delivery = chat::slack::Delivery::http;
            slack.signing_secret = config.slack.signing_secret;
            slack.server = &server;
            slack.path_prefix = config.slack.http_path;
        }
        return std::make_unique<chat::slack::SlackAdapter>(executor, http, slack);
    }
    chat::ConsoleOptions console;
    console.user = config.console.user;
    console.channel = config.console.channel;
    console.known_users = config.users;
    console.time_zones = config.user_time_zones;
    console.interactive = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
    return std::make_unique<chat::ConsoleAdapter>(executor, console);
}

chat::IdShapes id_shapes(std::string_view adapter) {
    if (adapter == "slack") return {chat::slack::is_user_id, chat::slack::is_conversation_id};
    if (adapter == "matrix") return {chat::matrix::is_user_id, chat::matrix::is_conversation_id};
    return {};  // the console's ids are the names people type
}

}  // namespace platbot::core
