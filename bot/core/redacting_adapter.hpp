#pragma once
// The chat adapter every feature talks to, with the config's secrets masked in all the bot
// says: replies, job status messages and outcomes, output tails, `job <id>`, `why`. One
// place at the edge, so a token that reaches a reply by any path ({{ output }}, an error
// text, a response body) is never posted. The logs mask the same list (logging.hpp).
#include <memory>
#include <string>
#include <vector>

#include "bot/chat/adapter.hpp"

namespace platbot::core {

class RedactingAdapter final : public chat::ChatAdapter {
public:
    RedactingAdapter(chat::ChatAdapter& inner, std::vector<std::string> secrets)
        : inner_(inner), secrets_(std::move(secrets)) {}

    // After a reload: the new config's secrets.
    void set_secrets(std::vector<std::string> secrets) { secrets_ = std::move(secrets); }
    // What people would see of `reply`: text, fields, poll and button labels masked.
    chat::Reply redacted(chat::Reply reply) const;

    chat::Task<chat::MessageRef> post(const chat::Origin& to, const chat::Reply& reply) override;
    chat::Task<void> update(const chat::MessageRef& message, const chat::Reply& reply) override;

    std::string name() const override { return inner_.name(); }
    chat::Task<void> run(chat::EventSink& sink) override { return inner_.run(sink); }
    void stop() override { inner_.stop(); }
    bool connected() const override { return inner_.connected(); }
    chat::Task<chat::Origin> direct(std::string user_id) override { return inner_.direct(std::move(user_id)); }
    chat::Task<chat::Profile> profile(std::string user_id) override { return inner_.profile(std::move(user_id)); }
    chat::Task<std::vector<chat::User>> members(std::string conversation) override {
        return inner_.members(std::move(conversation));
    }
    std::chrono::seconds time_to_reach(std::size_t people, std::size_t messages_each) const override {
        return inner_.time_to_reach(people, messages_each);
    }
    chat::Task<void> leave(std::string conversation) override { return inner_.leave(std::move(conversation)); }
    chat::Task<std::vector<chat::User>> find_people(std::vector<std::string> names) override {
        return inner_.find_people(std::move(names));
    }
    chat::Task<std::vector<chat::NamedConversation>> find_conversations(std::vector<std::string> names) override {
        return inner_.find_conversations(std::move(names));
    }
    bool conversation_ids_are_names() const override { return inner_.conversation_ids_are_names(); }

private:
    chat::ChatAdapter& inner_;
    std::vector<std::string> secrets_;
};

}  // namespace platbot::core
