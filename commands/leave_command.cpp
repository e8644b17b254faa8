#include "commands/leave_command.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace platbot::commands {

CommandSpec LeaveCommand::spec() const {
    ParamSpec conversation;
    conversation.name = "conversation";
    conversation.description = "the id of a conversation the bot is in; this one when left out";
    conversation.max_length = 255;
    CommandSpec leave;
    leave.name = "leave";
    leave.description = "Make the bot leave this conversation, or the one named (admins)";
    leave.params = {conversation};
    return leave;
}

chat::Task<chat::Reply> LeaveCommand::run(Invocation invocation, chat::User who, chat::Origin where) {
    if (!directory_.in_group(who, admin_group_))
        co_return chat::for_requester("Only admins can make me leave" +
                                      (admin_group_.empty() ? std::string(" (bot.admins is not set)") : " (" + admin_group_ + ")") +
                                      ". Anyone can remove me with the platform's own tools.");
    const std::string target = invocation.text("conversation", where.conversation);
    const bool here = target == where.conversation;
    try {
        if (here) {
            chat::Origin everyone = where;
            everyone.requester.clear();
            const chat::Reply goodbye = chat::say("👋 Leaving, as " + chat::display_name(who) + " asked. Invite me back any time.");
            co_await outbox_.post(everyone, goodbye);
        }
        co_await conversations_.leave(target);
    } catch (const std::exception& e) {
        spdlog::warn("leave {}: {}", target, e.what());
        co_return chat::for_requester("I could not leave " + target + ": " + e.what());
    }
    spdlog::info("left {} at {}'s request", target, who.id);
    if (here) co_return chat::Reply{};  // the goodbye was the answer; nothing can be posted here now
    co_return chat::for_requester("👋 Left " + target + ".");
}

}  // namespace platbot::commands
