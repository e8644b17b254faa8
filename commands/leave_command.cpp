#include "commands/leave_command.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace platbot::commands {

chat::Task<chat::Reply> LeaveCommand::run(std::vector<Token> words, chat::User who, chat::Origin where, chat::References) {
    if (!directory_.in_group(who, admin_group_))
        co_return chat::for_requester("Only admins can make me leave" +
                                      (admin_group_.empty() ? std::string(" (bot.admins is not set)") : " (" + admin_group_ + ")") +
                                      ". Anyone can remove me with the platform's own tools.");
    if (words.size() > 1 || (words.size() == 1 && words[0].kind != Token::Kind::word))
        co_return chat::for_requester("Usage: `" + prefix_ + " leave` (this conversation) or `" + prefix_ + " leave <conversation id>`.");
    const std::string target = words.empty() ? where.conversation : words[0].value;
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
