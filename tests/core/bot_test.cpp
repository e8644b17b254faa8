// The Bot routes each event once and keeps failures away from the event loop.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <stdexcept>

#include "bot/core/bot.hpp"

namespace {

using namespace platbot;

class RecordingAdapter final : public chat::ChatAdapter {
public:
    std::vector<std::pair<chat::Origin, chat::Reply>> posted;
    std::string name() const override { return "recording"; }
    chat::Task<void> run(chat::EventSink&) override { co_return; }
    chat::Task<chat::MessageRef> post(const chat::Origin& to, const chat::Reply& reply) override {
        posted.emplace_back(to, reply);
        co_return chat::MessageRef{to.conversation, std::to_string(posted.size())};
    }
    chat::Task<void> update(const chat::MessageRef&, const chat::Reply&) override { co_return; }
    void stop() override {}
};

class MemoryAudit final : public store::AuditLog {
public:
    bool broken = false;
    std::vector<store::AuditRecord> rows;
    void record(const store::AuditRecord& record) override {
        if (broken) throw std::runtime_error("disk I/O error");
        rows.push_back(record);
    }
    std::vector<store::AuditRecord> recent_for_user(std::string_view, std::size_t) override { return {}; }
};

chat::ChatEvent message(std::string id, std::string text) {
    chat::ChatEvent event;
    event.id = std::move(id);
    event.correlation_id = event.id;
    event.user = {"U1", "dev"};
    event.origin = {"test", "general", "", "", ""};
    event.text = std::move(text);
    return event;
}

void deliver(core::Bot& bot, std::vector<chat::ChatEvent> events) {
    boost::asio::io_context io;
    bool escaped = false;
    boost::asio::co_spawn(
        io,
        [&]() -> chat::Task<void> {
            for (auto& event : events) co_await bot.on_event(std::move(event));
        },
        [&](std::exception_ptr failure) { escaped = failure != nullptr; });
    io.run();
    REQUIRE_FALSE(escaped);
}

}  // namespace

TEST_CASE("Bot answers a command once even when the platform redelivers it", "[core]") {
    RecordingAdapter adapter;
    MemoryAudit audit;
    commands::Engine engine({"/platform", "9.9.9", 10}, {}, {}, audit);
    core::Bot bot(engine, adapter);

    deliver(bot, {message("ev-1", "/platform version"), message("ev-1", "/platform version"),
                  message("ev-2", "/platform version")});

    REQUIRE(adapter.posted.size() == 2);
    CHECK(adapter.posted[0].second.text == "platbot 9.9.9");
    CHECK(adapter.posted[0].first.conversation == "general");
    CHECK(audit.rows.size() == 2);
}

TEST_CASE("Bot ignores chatter that is not addressed to it", "[core]") {
    RecordingAdapter adapter;
    MemoryAudit audit;
    commands::Engine engine({"/platform", "1", 10}, {}, {}, audit);
    core::Bot bot(engine, adapter);

    deliver(bot, {message("a", "good morning"), message("b", "/platformversion")});

    CHECK(adapter.posted.empty());
    CHECK(audit.rows.empty());
}

TEST_CASE("Bot contains a failing handler, tells the user, and keeps going", "[core]") {
    RecordingAdapter adapter;
    MemoryAudit audit;
    commands::Engine engine({"/platform", "1", 10}, {}, {}, audit);
    core::Bot bot(engine, adapter);

    audit.broken = true;
    deliver(bot, {message("x-1", "/platform version")});
    REQUIRE(adapter.posted.size() == 1);
    CHECK_THAT(adapter.posted[0].second.text, Catch::Contains("Something went wrong"));
    CHECK_THAT(adapter.posted[0].second.text, Catch::Contains("x-1"));
    CHECK(adapter.posted[0].second.ephemeral);

    audit.broken = false;
    deliver(bot, {message("x-2", "/platform version")});
    REQUIRE(adapter.posted.size() == 2);
    CHECK(adapter.posted[1].second.text == "platbot 1");
}

TEST_CASE("Bot runs the command a run-button carries, as the person who pressed it", "[core]") {
    RecordingAdapter adapter;
    MemoryAudit audit;
    commands::Engine engine({"/platform", "1", 10}, {}, {}, audit);
    core::Bot bot(engine, adapter);

    chat::ChatEvent press = message("b-1", "");
    press.kind = chat::EventKind::button;
    press.user = {"U7", "alice"};
    press.action_id = chat::run_command_action;
    press.value = "/platform whoami";
    chat::ChatEvent stale = message("b-2", "");
    stale.kind = chat::EventKind::button;
    stale.action_id = "approve";
    deliver(bot, {press, stale});

    REQUIRE(adapter.posted.size() == 2);
    CHECK(adapter.posted[0].second.text == "You are alice.");
    CHECK_THAT(adapter.posted[1].second.text, Catch::Contains("no longer active"));
    REQUIRE(audit.rows.size() == 1);
    CHECK(audit.rows[0].user_id == "U7");
}
