#include "bot/core/inbox.hpp"

#include <algorithm>
#include <exception>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bot/common/json_field.hpp"
#include "bot/net/one_shot.hpp"

namespace platbot::core {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::optional<chat::EventKind> parse_kind(const std::string& name) {
    for (auto kind : {chat::EventKind::message, chat::EventKind::button, chat::EventKind::member_joined})
        if (name == chat::kind_name(kind)) return kind;
    return std::nullopt;
}

// Forgetting old ids keeps pace with arrivals: each write may forget a few more than it adds.
constexpr std::size_t forget_at_least = 64;

}  // namespace

std::string serialise_event(const chat::ChatEvent& event) {
    json references = json::array();
    for (const auto& reference : event.references)
        references.push_back({{"kind", reference.kind == chat::Reference::Kind::person ? "person" : "conversation"},
                              {"word", reference.word},
                              {"id", reference.id}});
    const json out{{"kind", chat::kind_name(event.kind)},
                   {"id", event.id},
                   {"correlation_id", event.correlation_id},
                   {"user", {{"id", event.user.id}, {"name", event.user.name}}},
                   {"origin",
                    {{"adapter", event.origin.adapter},
                     {"conversation", event.origin.conversation},
                     {"thread", event.origin.thread},
                     {"message_id", event.origin.message_id},
                     {"requester", event.origin.requester}}},
                   {"text", event.text},
                   {"action_id", event.action_id},
                   {"value", event.value},
                   {"sent_ms", std::chrono::duration_cast<std::chrono::milliseconds>(event.sent.time_since_epoch()).count()},
                   {"references", std::move(references)}};
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<chat::ChatEvent> parse_event(const std::string& text) {
    const json in = json::parse(text, nullptr, false);
    if (!in.is_object()) return std::nullopt;
    const auto kind = parse_kind(string_field(in, "kind"));
    if (!kind) return std::nullopt;
    static const json empty = json::object();
    const auto object_at = [&](const char* key) -> const json& {
        const auto found = in.find(key);
        return found != in.end() && found->is_object() ? *found : empty;
    };
    chat::ChatEvent event;
    event.kind = *kind;
    event.id = string_field(in, "id");
    event.correlation_id = string_field(in, "correlation_id");
    const json& user = object_at("user");
    event.user = {string_field(user, "id"), string_field(user, "name")};
    const json& origin = object_at("origin");
    event.origin = {string_field(origin, "adapter"), string_field(origin, "conversation"), string_field(origin, "thread"),
                    string_field(origin, "message_id"), string_field(origin, "requester")};
    event.text = string_field(in, "text");
    event.action_id = string_field(in, "action_id");
    event.value = string_field(in, "value");
    event.sent = std::chrono::system_clock::time_point(std::chrono::milliseconds(integer_field(in, "sent_ms")));
    if (const auto references = in.find("references"); references != in.end() && references->is_array())
        for (const auto& reference : *references) {
            const auto kind = string_field(reference, "kind") == "conversation" ? chat::Reference::Kind::conversation
                                                                               : chat::Reference::Kind::person;
            event.references.push_back({kind, string_field(reference, "word"), string_field(reference, "id")});
        }
    return event;
}

struct Inbox::Batch {
    explicit Batch(const asio::any_io_executor& executor) : written(executor) {}
    std::vector<store::InboxEntry> entries;
    std::vector<chat::Admission> results;
    net::OneShot written;
};

Inbox::Inbox(asio::any_io_executor executor, store::Inbox& store, const net::Clock& clock, InboxOptions options)
    : executor_(std::move(executor)),
      store_(store),
      clock_(clock),
      options_(options),
      timer_(executor_),
      alive_(std::make_shared<bool>(true)) {}

Inbox::~Inbox() {
    alive_.reset();
    // Whatever waits is written now: an event recorded here but never acknowledged comes
    // back as a leftover at the next start, or as a redelivery, never lost.
    flush();
}

chat::Task<chat::Admission> Inbox::admit(const chat::ChatEvent& event) {
    if (event.id.empty()) co_return chat::Admission::first;
    if (open_.count(event.id) > 0) co_return chat::Admission::duplicate;
    if (!batch_) batch_ = std::make_shared<Batch>(executor_);
    const auto batch = batch_;
    const std::size_t index = batch->entries.size();
    batch->entries.push_back({event.id, serialise_event(event), clock_.now()});
    schedule_flush(std::max(std::chrono::steady_clock::now(), last_flush_ + options_.min_gap));
    co_await batch->written.wait();
    co_return batch->results[index];
}

void Inbox::finished(const std::string& id) {
    if (open_.erase(id) == 0) return;
    finished_.push_back(id);
    flush();
}

std::vector<Leftover> Inbox::leftovers() {
    std::vector<Leftover> out;
    for (auto& entry : store_.unfinished_inbox()) {
        auto event = parse_event(entry.payload);
        open_.insert(entry.id);
        if (!event) {
            spdlog::error("inbox: event {} from the previous run cannot be read back and is dropped", entry.id);
            finished(entry.id);
            continue;
        }
        event->id = entry.id;
        out.push_back({std::move(*event), entry.received});
    }
    return out;
}

void Inbox::schedule_flush(std::chrono::steady_clock::time_point when) {
    if (flush_at_ && *flush_at_ <= when) return;
    flush_at_ = when;
    // A timer that is already due still fires only after the work queued now and the I/O
    // that is ready with it: that work's writes join this transaction.
    timer_.expires_at(when);
    timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
        if (error == asio::error::operation_aborted || !alive.lock()) return;  // moved earlier, or gone
        flush();
    });
}

void Inbox::flush() {
    last_flush_ = std::chrono::steady_clock::now();
    if (flush_at_) {
        flush_at_.reset();
        timer_.cancel();
    }
    auto batch = std::move(batch_);
    batch_.reset();
    if (!batch && finished_.empty()) return;

    store::InboxWrite write;
    if (batch) write.arrived = std::move(batch->entries);
    write.finished.swap(finished_);
    write.forget_before = clock_.now() - options_.keep_ids;
    write.forget_limit = forget_at_least + 2 * (write.arrived.size() + write.finished.size());
    std::vector<bool> fresh;
    try {
        fresh = store_.write_inbox(write);
    } catch (const std::exception& e) {
        if (!write.arrived.empty())
            spdlog::error("inbox: {} event(s) could not be recorded, so they are not acknowledged ({}); "
                          "the platform will deliver them again",
                          write.arrived.size(), e.what());
        else
            spdlog::error("inbox: {} event(s) could not be marked handled ({}); trying again with the next write",
                          write.finished.size(), e.what());
        // Finished marks wait for the next write; an event without one is replayed at start.
        finished_.insert(finished_.end(), write.finished.begin(), write.finished.end());
    }
    if (!batch) return;
    batch->results.resize(write.arrived.size(), chat::Admission::unrecorded);
    for (std::size_t i = 0; i < fresh.size() && i < write.arrived.size(); ++i) {
        batch->results[i] = fresh[i] ? chat::Admission::first : chat::Admission::duplicate;
        if (fresh[i]) open_.insert(write.arrived[i].id);
    }
    batch->written.fire();
}

}  // namespace platbot::core
