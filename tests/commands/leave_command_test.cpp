// `leave`: admins make the bot leave here (a goodbye first, then nothing more) or elsewhere
// (they hear it left); others are told who may; a refusal from the platform is one line.
#include "commands/leave_command.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "support/builtin_line.hpp"
#include "support/recording_chat.hpp"
#include "support/run_loop.hpp"

namespace {

using namespace platbot;
using Catch::Contains;

const chat::User root{"U9", "root"};
const chat::User bob{"U2", "bob"};

chat::Reply run(commands::LeaveCommand& leave, const std::string& line, const chat::User& who) {
    boost::asio::io_context io;
    const chat::Origin where{"test", "C-ops", "", "m1", who.id};
    return testing::await(io, testing::run_line(leave, line, who, where, {}, "!platform"));
}

}  // namespace

TEST_CASE("leave: an admin makes the bot leave here, after a goodbye, or elsewhere", "[leave]") {
    testing::RecordingChat chat;
    const commands::Directory directory({root, bob}, {{"admins", {"root"}}});
    commands::LeaveCommand leave(chat, chat, directory, "admins");

    CHECK_THAT(run(leave, "", bob).text, Contains("Only admins can make me leave (admins)"));
    CHECK(chat.left.empty());

    const auto here = run(leave, "", root);
    CHECK(chat::is_empty(here));
    CHECK(chat.left == std::vector<std::string>{"C-ops"});
    REQUIRE(chat.posted.size() == 1);
    CHECK(chat.posted[0].to.conversation == "C-ops");
    CHECK_THAT(chat.posted[0].reply.text, Contains("Leaving, as root asked"));

    CHECK(run(leave, "C-old", root).text == "👋 Left C-old.");
    CHECK(chat.left.back() == "C-old");
    CHECK_THAT(run(leave, "a b", root).text, Contains("unexpected argument 'b'. Usage: !platform leave [conversation]"));
}
