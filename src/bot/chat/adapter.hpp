#pragma once
// The interface every chat platform implements. Adapters know their wire format and
// nothing else; the Bot hands them neutral replies and receives neutral events.
#include <boost/asio/awaitable.hpp>

#include "bot/chat/chat.hpp"

namespace platbot::chat {

template <class T>
using Task = boost::asio::awaitable<T>;

class EventSink {
public:
    virtual ~EventSink() = default;

    // Remembers the event's id; false when it was seen before (a redelivery to drop).
    virtual bool first_delivery(const ChatEvent& event) = 0;
    // Handles an event already let through by first_delivery. Never throws.
    virtual Task<void> handle(ChatEvent event) = 0;

    // Both in one step, for adapters that acknowledge after handling (the console). Those
    // that must acknowledge within a deadline (Slack's 3 s) call first_delivery, acknowledge,
    // then handle.
    Task<void> on_event(ChatEvent event) {
        if (!first_delivery(event)) co_return;
        co_await handle(std::move(event));
    }
};

// Where features send what they have to say; posted messages can be updated in place
// (Slack chat.update, Matrix edits, a console reprint).
class Outbox {
public:
    virtual ~Outbox() = default;
    virtual Task<MessageRef> post(const Origin& to, const Reply& reply) = 0;
    virtual Task<void> update(const MessageRef& message, const Reply& reply) = 0;
};

class ChatAdapter : public Outbox {
public:
    virtual std::string name() const = 0;
    // Delivers events to the sink until the platform connection ends or stop() is called.
    virtual Task<void> run(EventSink& sink) = 0;
    // Stops taking new events; run() returns soon after.
    virtual void stop() = 0;
};

}  // namespace platbot::chat
