#pragma once
// Helpers for the end-to-end tests over Matrix: a config for the real binary that points at
// the fake homeserver (two commands: `restart`, an action behind a confirmation, and `echo`),
// its token, what a sent event says and answers, and waiting until the bot syncs live.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "support/fake_matrix.hpp"
#include "support/temp_dir.hpp"

namespace platbot::testing::matrix_fixture {

using namespace std::chrono_literals;
using nlohmann::json;

inline constexpr auto wait_limit = 10s;
inline const std::string ops = "!ops:example.org";
inline const std::string alice = "@alice:example.org";

inline std::string config_for(const FakeMatrix& matrix, const TempDir& dir, const std::string& extra_matrix = "",
                       const std::string& extra = "") {
    return dir.write("matrix.yaml",
                     "bot: {name: platbot, prefix: '!platform', adapter: matrix}\n"
                     "log: {level: debug}\n"
                     "store: {path: bot.db}\n"
                     "matrix:\n"
                     "  homeserver: " + matrix.base_url() + "\n"
                     "  sync_timeout: 5s\n"
                     "  timeout: 2s\n" + extra_matrix +
                     "commands:\n"
                     "  restart:\n"
                     "    description: Restart a service\n"
                     "    params: [{name: service, type: string, required: true}]\n"
                     "    action:\n"
                     "      exec: {program: /bin/echo, args: ['restarted {{ args.service }}']}\n"
                     "      reply: {success: '♻️ {{ output }}'}\n"
                     "    confirm: {expires: 5m}\n"
                     "  echo:\n"
                     "    description: Say it back\n"
                     "    params: [{name: words, type: string, required: true}]\n"
                     "    reply: 'you said {{ args.words }}'\n" + extra);
}

inline std::map<std::string, std::string> token(const FakeMatrix& matrix) { return {{"MATRIX_ACCESS_TOKEN", matrix.access_token()}}; }

inline std::string body_of(const MatrixEvent& event) {
    if (event.content.contains("m.new_content")) return event.content["m.new_content"].value("body", "");
    return event.content.value("body", "");
}

inline bool says(const MatrixEvent& event, const std::string& part) { return body_of(event).find(part) != std::string::npos; }

inline std::string replied_to(const MatrixEvent& event) {
    const auto relation = event.content.value("m.relates_to", json::object());
    return relation.contains("m.in_reply_to") ? relation["m.in_reply_to"].value("event_id", "") : "";
}

inline std::string edited(const MatrixEvent& event) {
    const auto relation = event.content.value("m.relates_to", json::object());
    return relation.value("rel_type", "") == "m.replace" ? relation.value("event_id", "") : "";
}

// The bot is syncing incrementally: its first sync is done, so what comes now is answered.
inline bool wait_until_live(const FakeMatrix& matrix) {
    for (int i = 0; i < 500; ++i) {
        for (const auto& since : matrix.sync_sinces())
            if (!since.empty()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

inline std::size_t count_sent(const FakeMatrix& matrix, const std::function<bool(const MatrixEvent&)>& match) {
    std::size_t n = 0;
    for (const auto& event : matrix.sent()) n += match(event) ? 1 : 0;
    return n;
}


}  // namespace platbot::testing::matrix_fixture
