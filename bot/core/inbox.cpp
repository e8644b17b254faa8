#include "bot/core/inbox.hpp"

#include <algorithm>
#include <exception>
#include <optional>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bot/common/json_field.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/net/spawn.hpp"

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
    std::vector<std::string> finished;
    bool claim = false;                  // leftovers() waits for it: claim after the write
    std::vector<Leftover> leftovers;     // what the claim found, for leftovers() to return
    std::exception_ptr claim_failure;
    std::shared_ptr<Batch> dropped;      // the write marking unreadable leftovers finished
    net::OneShot written;  // its write ended, whether or not it landed
};

Inbox::Inbox(asio::any_io_executor executor, store::Inbox& store, store::InstanceStore& instances, net::Clock& clock,
             InboxOptions options)
    : executor_(std::move(executor)),
      store_(store),
      instances_(instances),
      clock_(clock),
      options_(std::move(options)),
      started_(clock.now()),
      timer_(executor_),
      alive_(std::make_shared<bool>(true)) {}

Inbox::~Inbox() {
    *alive_ = false;
    timer_.cancel();
    const std::size_t marks = unwritten_marks_.size() + (batch_ ? batch_->finished.size() : 0);
    if (marks > 0)
        spdlog::warn("inbox: {} finished mark(s) were not written before the inbox closed; those events are handled "
                     "again at the next start",
                     marks);
}

chat::Task<chat::Admission> Inbox::admit(const chat::ChatEvent& event) {
    if (event.id.empty()) co_return chat::Admission::first;
    if (open_.count(event.id) > 0) co_return chat::Admission::duplicate;
    next_batch().entries.push_back({event.id, serialise_event(event), clock_.now()});
    const auto batch = batch_;
    const std::size_t index = batch->entries.size() - 1;
    request_write(std::max(std::chrono::steady_clock::now(), last_write_ + options_.min_gap));
    co_await batch->written.wait();
    co_return batch->results[index];
}

chat::Task<void> Inbox::finished(std::string id) {
    if (open_.erase(id) == 0) co_return;
    next_batch().finished.push_back(std::move(id));
    const auto batch = batch_;
    request_write(std::chrono::steady_clock::now());
    co_await batch->written.wait();
}

chat::Task<std::vector<Leftover>> Inbox::leftovers() {
    next_batch().claim = true;
    const auto batch = batch_;
    request_write(std::chrono::steady_clock::now());
    co_await batch->written.wait();
    if (batch->claim_failure) std::rethrow_exception(batch->claim_failure);
    if (const auto dropped = batch->dropped) co_await dropped->written.wait();
    std::vector<Leftover> out;
    out.swap(batch->leftovers);  // two callers waiting for one claim: one of them handles them
    co_return out;
}

chat::Task<void> Inbox::heartbeat() {
    std::string instance = options_.instance;
    const auto started = started_;
    const auto now = clock_.now();
    co_await instances_.heartbeat(std::move(instance), started, now);
}

chat::Task<void> Inbox::keep_beating(CancelToken stop) {
    for (;;) {  // until stop
        const auto due = clock_.now() + beat_interval();
        if (!co_await clock_.sleep_until(due, stop)) co_return;
        std::optional<std::string> failure;
        try {
            co_await heartbeat();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (failure)
            spdlog::warn("inbox: instance {} could not tell the store it is alive ({}); if this lasts {} s, other instances "
                         "take over the events it has not finished",
                         options_.instance, *failure, std::chrono::duration_cast<std::chrono::seconds>(options_.lease).count());
    }
}

chat::Task<void> Inbox::close() {
    if (!unwritten_marks_.empty()) next_batch();  // one more try for them
    if (batch_) request_write(std::chrono::steady_clock::now());
    while (writing_) {
        const auto ended = written_;
        co_await ended->wait();
    }
}

Inbox::Batch& Inbox::next_batch() {
    if (!batch_) batch_ = std::make_shared<Batch>(executor_);
    return *batch_;
}

void Inbox::request_write(std::chrono::steady_clock::time_point when) {
    if (!due_ || when < *due_) {
        due_ = when;
        // Cancels the writer's wait for a later time, if it waits: it wakes and waits for this.
        timer_.expires_at(when);
    }
    if (writing_) return;
    writing_ = true;
    written_ = std::make_shared<net::OneShot>(executor_);
    // co_spawn starts it on a later turn of the loop, so what is queued now joins its first write.
    net::spawn_guarded(executor_, alive_, run_writer(alive_, written_), "inbox: writing");
}

// The one writer: a batch at a time, in the order they formed. While a write is in flight
// the next batch gathers, and is written as soon as that write ends (if it is due by then).
asio::awaitable<void> Inbox::run_writer(std::shared_ptr<bool> alive, std::shared_ptr<net::OneShot> done) {
    while (*alive && batch_) {
        if (std::chrono::steady_clock::now() < *due_) {
            timer_.expires_at(*due_);
            boost::system::error_code woken;  // moved earlier, or the inbox is going: the loop looks again
            co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, woken));
            continue;
        }
        std::shared_ptr<Batch> batch = std::move(batch_);
        batch_.reset();
        due_.reset();
        last_write_ = std::chrono::steady_clock::now();
        co_await write_batch(std::move(batch), alive);
    }
    if (*alive) writing_ = false;
    done->fire();
}

// A batch's changes, then the claim it carries. Both by the writer: no finished mark of this
// instance lands while the claim reads, so an entry the claim returns that is handled here is
// either open or has its mark still waiting, and is left alone.
asio::awaitable<void> Inbox::write_batch(std::shared_ptr<Batch> batch, std::shared_ptr<bool> alive) {
    if (!batch->entries.empty() || !batch->finished.empty() || !unwritten_marks_.empty()) co_await write_changes(batch, alive);
    if (batch->claim && *alive) co_await claim_leftovers(batch, alive);
    batch->written.fire();
}

asio::awaitable<void> Inbox::write_changes(std::shared_ptr<Batch> batch, std::shared_ptr<bool> alive) {
    std::vector<std::string> ids;
    for (const auto& entry : batch->entries) ids.push_back(entry.id);
    store::InboxWrite write;
    write.instance = options_.instance;
    write.arrived = std::move(batch->entries);
    write.finished = std::move(unwritten_marks_);  // older marks first: written in the order they came
    unwritten_marks_.clear();
    write.finished.insert(write.finished.end(), batch->finished.begin(), batch->finished.end());
    const std::vector<std::string> marks = write.finished;
    write.finished_at = clock_.now();
    write.forget_before = write.finished_at - options_.keep_ids;
    write.forget_limit = forget_at_least + 2 * (ids.size() + marks.size());
    std::vector<bool> fresh;
    std::optional<std::string> failure;
    try {
        fresh = co_await store_.write_inbox(std::move(write));
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown error";
    }
    if (failure && !ids.empty())
        spdlog::error("inbox: {} event(s) could not be recorded, so they are not acknowledged ({}); "
                      "the platform will deliver them again",
                      ids.size(), *failure);
    else if (failure)
        spdlog::error("inbox: {} event(s) could not be marked handled ({}); trying again with the next write", marks.size(),
                      *failure);
    batch->results.assign(ids.size(), chat::Admission::unrecorded);
    for (std::size_t i = 0; i < fresh.size() && i < ids.size(); ++i)
        batch->results[i] = fresh[i] ? chat::Admission::first : chat::Admission::duplicate;
    if (*alive) {  // gone: the admissions still learn their outcome, the inbox's state is no more
        // Finished marks wait for the next write; an event without one is replayed at start.
        if (failure) unwritten_marks_.insert(unwritten_marks_.end(), marks.begin(), marks.end());
        for (std::size_t i = 0; i < fresh.size() && i < ids.size(); ++i)
            if (fresh[i]) open_.insert(ids[i]);
    }
}

asio::awaitable<void> Inbox::claim_leftovers(std::shared_ptr<Batch> batch, std::shared_ptr<bool> alive) {
    std::string instance = options_.instance;
    const auto now = clock_.now();
    const auto lease = options_.lease;
    std::vector<store::InboxEntry> entries;
    try {
        entries = co_await store_.claim_unfinished(std::move(instance), now, lease);
    } catch (...) {
        batch->claim_failure = std::current_exception();
    }
    if (!*alive) co_return;
    for (auto& entry : entries) {
        if (open_.count(entry.id) > 0 || mark_waits(entry.id)) continue;
        auto event = parse_event(entry.payload);
        if (!event) {
            spdlog::error("inbox: unfinished event {} cannot be read back and is dropped", entry.id);
            next_batch().finished.push_back(entry.id);
            batch->dropped = batch_;
            continue;
        }
        open_.insert(entry.id);
        event->id = entry.id;
        batch->leftovers.push_back({std::move(*event), entry.received});
    }
    if (batch->dropped) request_write(std::chrono::steady_clock::now());
}

bool Inbox::mark_waits(const std::string& id) const {
    const auto holds = [&id](const std::vector<std::string>& ids) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
    return holds(unwritten_marks_) || (batch_ && holds(batch_->finished));
}

}  // namespace platbot::core
