#include "bot/core/redacting_adapter.hpp"

#include "bot/common/text.hpp"

namespace platbot::core {

chat::Reply RedactingAdapter::redacted(chat::Reply reply) const {
    if (secrets_.empty()) return reply;
    const auto mask = [this](std::string& text) { text = text::redact(std::move(text), secrets_); };
    mask(reply.text);
    for (auto& field : reply.fields) {
        mask(field.label);
        mask(field.value);
    }
    // Button values are commands the bot runs when pressed: they stay as they are.
    for (auto& button : reply.buttons) {
        mask(button.label);
        mask(button.prompt);
    }
    if (reply.poll) {
        mask(reply.poll->question);
        mask(reply.poll->note);
        for (auto& option : reply.poll->options) {
            mask(option.label);
            if (option.vote) mask(option.vote->label);
        }
        if (reply.poll->unvote) mask(reply.poll->unvote->label);
    }
    return reply;
}

chat::Task<chat::MessageRef> RedactingAdapter::post(const chat::Origin& to, const chat::Reply& reply) {
    const chat::Origin where = to;  // named: g++ 12 and temporaries inside co_await
    const chat::Reply shown = redacted(reply);
    co_return co_await inner_.post(where, shown);
}

chat::Task<void> RedactingAdapter::update(const chat::MessageRef& message, const chat::Reply& reply) {
    const chat::MessageRef target = message;
    const chat::Reply shown = redacted(reply);
    co_await inner_.update(target, shown);
}

}  // namespace platbot::core
