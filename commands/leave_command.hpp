#pragma once
// `leave [<conversation id>]`: an admin makes the bot leave this conversation (it says
// goodbye first) or another one it is in (the admin hears that it left).
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <string>

#include "bot/chat/adapter.hpp"
#include "commands/directory.hpp"
#include "commands/engine.hpp"

namespace platbot::commands {

class LeaveCommand final : public BuiltinCommand {
public:
    LeaveCommand(chat::Outbox& outbox, chat::Conversations& conversations, const Directory& directory, std::string admin_group)
        : outbox_(outbox), conversations_(conversations), directory_(directory), admin_group_(std::move(admin_group)) {}

    CommandSpec spec() const override;
    chat::Task<chat::Reply> run(Invocation invocation, chat::User who, chat::Origin where) override;

private:
    chat::Outbox& outbox_;
    chat::Conversations& conversations_;
    const Directory& directory_;
    std::string admin_group_;
};

}  // namespace platbot::commands
