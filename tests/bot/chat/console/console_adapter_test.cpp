// The console adapter's events, read from a pipe as the terminal would give them.
#include <utility>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "bot/chat/console/console_adapter.hpp"
#include "support/run_loop.hpp"

namespace asio = boost::asio;
using namespace platbot;

namespace {

class CollectingSink final : public chat::EventSink {
public:
    std::vector<chat::ChatEvent> events;
    chat::Task<chat::Admission> admit(const chat::ChatEvent&) override { co_return chat::Admission::first; }
    chat::Task<void> handle(chat::ChatEvent event) override {
        events.push_back(std::move(event));
        co_return;
    }
};

// One run of the console: `input` typed, then end of input; the events it handed on.
std::vector<chat::ChatEvent> console_run(const std::string& input) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(::write(fds[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
    ::close(fds[1]);
    std::FILE* output = std::tmpfile();
    asio::io_context io;
    chat::ConsoleOptions options;
    options.user = {"U001", "dev"};
    options.input_fd = fds[0];
    options.output = output;
    CollectingSink sink;
    {
        chat::ConsoleAdapter console(io.get_executor(), options);
        CHECK_NOTHROW(testing::await(io, console.run(sink)));
    }
    ::close(fds[0]);
    std::fclose(output);
    return std::move(sink.events);
}

}  // namespace

TEST_CASE("console event ids never repeat across runs, even with the same process id", "[console]") {
    // A container's bot is PID 1 at every start; jobs remember the event that started them,
    // so a repeated id would make the second run's deploy look like the first run's.
    const auto first = console_run("/platform deploy api\n/platform help\n");
    const auto second = console_run("/platform deploy api\n/platform help\n");
    REQUIRE(first.size() == 2);
    REQUIRE(second.size() == 2);
    CHECK(first[0].id != first[1].id);
    for (const auto& a : first)
        for (const auto& b : second) CHECK(a.id != b.id);
    CHECK(first[0].text == "/platform deploy api");
    CHECK(first[0].origin.message_id == first[0].id);
}
