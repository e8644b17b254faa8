// The in-repo fake Slack as a program, for checks that run the bot somewhere a test binary
// cannot reach into (scripts/docker-smoke.sh runs it against the container). It listens on
// 127.0.0.1, prints `port <n>`, then reads one request per line from stdin and answers each
// with one line:
//   connected <seconds> [n] → ok | timeout          (n Socket Mode connections are open; 1 unless given)
//   command <text>        → reply <the answer, lines joined by '|'> | timeout   (a /platform
//                           command from U0SMOKE01 in C0SMOKE01, answered within 30 s)
//   messages              → messages <n>            (every message the bot posted so far)
// End of input stops it.
#include <charconv>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "support/fake_slack.hpp"

namespace {

// Polls `done` every 50 ms until it holds or `limit` passes.
template <class Done>
bool within(std::chrono::seconds limit, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return done();
}

}  // namespace

int main() {
    platbot::testing::FakeSlack slack;
    slack.add_user("U0SMOKE01", "smoke");
    slack.set_redelivery(std::chrono::seconds(2));  // an envelope sent as the bot restarts comes again
    std::cout << "port " << slack.port() << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
        const auto space = line.find(' ');
        const std::string verb = line.substr(0, space);
        const std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
        if (verb == "connected") {
            int seconds = 30;  // also when `rest` is not a number
            const auto read = std::from_chars(rest.data(), rest.data() + rest.size(), seconds);
            int wanted = 1;
            if (read.ptr < rest.data() + rest.size()) std::from_chars(read.ptr + 1, rest.data() + rest.size(), wanted);
            const std::chrono::seconds limit(seconds);
            const auto enough = [&] { return slack.open_connections() >= static_cast<std::size_t>(wanted); };
            std::cout << (within(limit, enough) ? "ok" : "timeout") << std::endl;
        } else if (verb == "messages") {
            std::cout << "messages " << slack.messages().size() << std::endl;
        } else if (verb == "command") {
            const std::size_t before = slack.messages().size();
            slack.send_slash_command(rest, "U0SMOKE01", "C0SMOKE01", "smoke");
            if (!within(std::chrono::seconds(30), [&] { return slack.messages().size() > before; })) {
                std::cout << "timeout" << std::endl;
                continue;
            }
            std::string text = slack.messages()[before].text;
            for (char& c : text)
                if (c == '\n') c = '|';
            std::cout << "reply " << text << std::endl;
        } else {
            std::cout << "unknown request: " << line << " (connected <seconds> [n] | command <text> | messages)" << std::endl;
        }
    }
    return 0;
}
