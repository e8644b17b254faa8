#pragma once
// A feature's built-in driven as the engine drives it: the words after the command's name
// are bound against the spec it declares (people resolved in `directory`) and run as `who`
// in `where`. A line the engine would refuse answers with the engine's one-line error.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <string>

#include "commands/engine.hpp"
#include "commands/tokenizer.hpp"

namespace platbot::testing {

// Parameters by value: the coroutine outlives the caller's temporaries.
inline chat::Task<chat::Reply> run_line(commands::BuiltinCommand& command, std::string line, chat::User who, chat::Origin where,
                                        commands::Directory directory = {}, std::string prefix = "/platform") {
    auto words = commands::tokenize(line);
    if (!words) co_return chat::for_requester(words.error().message);
    const commands::CommandSpec spec = command.spec();  // lives in this frame while the command runs
    auto bound = commands::bind_arguments(spec, *words, prefix);
    if (!bound) co_return chat::for_requester(bound.error().message);
    commands::resolve_people(*bound, directory);
    commands::Invocation invocation = std::move(*bound);
    co_return co_await command.run(std::move(invocation), std::move(who), std::move(where));
}

}  // namespace platbot::testing
