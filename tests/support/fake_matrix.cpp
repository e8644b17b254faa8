// The fake homeserver's life (start, stop, restart) and what a test asks of it: rooms, people,
// events into the stream, faults, and what the bot did. The stream itself (positions, state,
// memberships) is kept here too; HTTP, the endpoints and /sync live in the other units.
#include "support/fake_matrix_impl.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

namespace platbot::testing {

namespace {

constexpr auto restart_wait = std::chrono::seconds(5);  // restart() waits at most this for the fake's thread

}  // namespace

// ---------------------------------------------------------------- the stream

// A change a held /sync may want to see; with the lock held.
void FakeMatrix::Impl::stream_changed() {
    touched();
    asio::post(io, [this] {
        for (auto* timer : held_timers) timer->cancel();
    });
}

// A new token; on a new device unless the login named one (the spec's device_id).
std::string FakeMatrix::Impl::issue_token(const std::string& device) {  // with the lock held
    ++token_counter;
    const std::string token = "syt_fake_token_" + std::to_string(token_counter);
    Token entry;
    entry.device = device.empty() ? "FAKEDEVICE" + std::to_string(token_counter) : device;
    tokens[token] = entry;
    current_token = token;
    return token;
}

std::string FakeMatrix::Impl::display_name(const std::string& user) const {  // with the lock held
    const auto it = users.find(user);
    return it == users.end() ? std::string() : it->second;
}

json FakeMatrix::Impl::member_content(const std::string& user, const std::string& membership) const {
    json content{{"membership", membership}};
    const std::string name = display_name(user);
    if (!name.empty()) content["displayname"] = name;
    return content;
}

FakeMatrix::Impl::Room& FakeMatrix::Impl::room_or_throw(const std::string& room_id) {
    const auto it = rooms.find(room_id);
    if (it == rooms.end()) throw std::invalid_argument("FakeMatrix: unknown room " + room_id + " (add_room or invite_bot first)");
    return it->second;
}

bool FakeMatrix::Impl::bot_is(const Room& room, const char* membership) const {
    const auto it = room.members.find(bot);
    return it != room.members.end() && it->second.membership == membership;
}

// Adds an event at the next stream position; with the lock held. Returns its index.
std::size_t FakeMatrix::Impl::append(Stored stored) {
    Room& room = rooms.at(stored.event.room_id);
    MatrixEvent& event = stored.event;
    event.position = ++position;
    event.event_id = "$e" + std::to_string(event.position);
    event.origin_server_ts = now_ms() - backdated_ms;
    stored.sender_skew_ms = sender_skew_ms;
    if (!event.unsigned_data.is_object()) event.unsigned_data = json::object();
    const std::size_t index = stream.size();
    if (event.state_key) {
        const auto key = std::make_pair(event.type, *event.state_key);
        const auto previous = room.state.find(key);
        if (previous != room.state.end() && !event.unsigned_data.contains("prev_content")) {
            event.unsigned_data["prev_content"] = stream[previous->second].event.content;
            event.unsigned_data["replaces_state"] = stream[previous->second].event.event_id;
        }
        room.state[key] = index;
        if (event.type == "m.room.member") room.members[*event.state_key] = Membership{string_field(event.content, "membership"), index};
    }
    room.events.push_back(index);
    stream.push_back(std::move(stored));
    stream_changed();
    return index;
}

std::size_t FakeMatrix::Impl::append_event(const std::string& room_id, const std::string& type, const std::string& sender,
                                           json content, std::optional<std::string> state_key, bool setup,
                                           json unsigned_data) {
    Stored stored;
    stored.event.room_id = room_id;
    stored.event.type = type;
    stored.event.sender = sender;
    stored.event.content = std::move(content);
    stored.event.state_key = std::move(state_key);
    stored.event.unsigned_data = std::move(unsigned_data);
    stored.setup = setup;
    return append(std::move(stored));
}

void FakeMatrix::Impl::set_account(const std::string& type, json content) {  // with the lock held
    AccountData& data = account[type];
    data.content = std::move(content);
    data.position = ++position;  // account data moves the stream on, so a held /sync sees it
    stream_changed();
}

// ---------------------------------------------------------------- FakeMatrix

FakeMatrix::FakeMatrix(std::string server_name) : impl_(std::make_unique<Impl>(std::move(server_name))) {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->users[impl_->bot] = bot_localpart;
        impl_->issue_token();
    }
    auto& acceptor = impl_->acceptor;
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(loopback.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(loopback);
    acceptor.listen(asio::socket_base::max_listen_connections);
    impl_->port = acceptor.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), ignore_errors);
    impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

FakeMatrix::~FakeMatrix() {
    // Stopping abandons every pending wait; destroying the io_context (with Impl) then destroys
    // the suspended coroutines, which closes their sockets: clients see the connection end.
    impl_->io.stop();
    impl_->thread.join();
    impl_->held_timers.clear();
    impl_->conns.clear();
}

unsigned short FakeMatrix::port() const { return impl_->port; }
std::string FakeMatrix::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
std::string FakeMatrix::server_name() const { return impl_->server_name; }
std::string FakeMatrix::bot_user() const { return impl_->bot; }
std::string FakeMatrix::password() const { return password_text; }

std::string FakeMatrix::access_token() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->current_token;
}

void FakeMatrix::expire_tokens() {
    std::lock_guard lock(impl_->mutex);
    for (auto& [token, entry] : impl_->tokens) entry.valid = false;
    impl_->touched();
}

std::string FakeMatrix::add_room(const std::string& room_id, const std::vector<std::string>& members, bool encrypted,
                                 const std::string& name) {
    std::lock_guard lock(impl_->mutex);
    auto& impl = *impl_;
    if (impl.rooms.count(room_id) != 0) throw std::invalid_argument("FakeMatrix: room " + room_id + " exists already");
    impl.rooms[room_id];
    std::vector<std::string> others;
    for (const auto& user : members)
        if (user != impl.bot && std::find(others.begin(), others.end(), user) == others.end()) others.push_back(user);
    const std::string creator = others.empty() ? impl.bot : others.front();
    impl.append_event(room_id, "m.room.create", creator, json{{"room_version", "10"}, {"creator", creator}}, "", true);
    impl.append_event(room_id, "m.room.member", creator, impl.member_content(creator, "join"), creator, true);
    if (creator != impl.bot) impl.append_event(room_id, "m.room.member", impl.bot, impl.member_content(impl.bot, "join"), impl.bot, true);
    for (std::size_t i = 1; i < others.size(); ++i)
        impl.append_event(room_id, "m.room.member", others[i], impl.member_content(others[i], "join"), others[i], true);
    if (!name.empty()) impl.append_event(room_id, "m.room.name", creator, json{{"name", name}}, "", true);
    if (encrypted)
        impl.append_event(room_id, "m.room.encryption", creator,
                          json{{"algorithm", "m.megolm.v1.aes-sha2"}, {"rotation_period_ms", 604800000}, {"rotation_period_msgs", 100}}, "",
                          true);
    return room_id;
}

void FakeMatrix::add_user(const std::string& user_id, const std::string& display_name) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[user_id] = display_name;
}

void FakeMatrix::add_alias(const std::string& alias, const std::string& room_id) {
    std::lock_guard lock(impl_->mutex);
    impl_->aliases[alias] = room_id;
}

void FakeMatrix::invite_bot(const std::string& room_id, const std::string& inviter, const std::string& name) {
    std::lock_guard lock(impl_->mutex);
    auto& impl = *impl_;
    const auto existing = impl.rooms.find(room_id);
    if (existing == impl.rooms.end()) {
        impl.rooms[room_id];
        impl.append_event(room_id, "m.room.create", inviter, json{{"room_version", "10"}, {"creator", inviter}}, "", true);
        impl.append_event(room_id, "m.room.member", inviter, impl.member_content(inviter, "join"), inviter, true);
    } else if (impl.bot_is(existing->second, "join")) {
        throw std::invalid_argument("FakeMatrix: the bot has joined " + room_id + " already");
    }
    if (!name.empty()) impl.append_event(room_id, "m.room.name", inviter, json{{"name", name}}, "", true);
    impl.append_event(room_id, "m.room.member", inviter, impl.member_content(impl.bot, "invite"), impl.bot, true);
}

std::vector<std::string> FakeMatrix::joined_rooms() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::string> out;
    for (const auto& [room_id, room] : impl_->rooms)
        if (impl_->bot_is(room, "join")) out.push_back(room_id);
    return out;
}

std::vector<std::string> FakeMatrix::members(const std::string& room_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::string> out;
    const auto room = impl_->rooms.find(room_id);
    if (room == impl_->rooms.end()) return out;
    for (const auto& [user, membership] : room->second.members)
        if (membership.membership == "join") out.push_back(user);
    return out;
}

std::string FakeMatrix::send_text(const std::string& room_id, const std::string& sender, const std::string& body,
                                  const nlohmann::json& extra_content) {
    json content{{"msgtype", "m.text"}, {"body", body}};
    if (extra_content.is_object()) content.update(extra_content);
    return send_event(room_id, "m.room.message", sender, content);
}

std::string FakeMatrix::send_event(const std::string& room_id, const std::string& type, const std::string& sender,
                                   const nlohmann::json& content, std::optional<std::string> state_key,
                                   const nlohmann::json& unsigned_data) {
    std::lock_guard lock(impl_->mutex);
    impl_->room_or_throw(room_id);
    const std::size_t index = impl_->append_event(room_id, type, sender, content, std::move(state_key), false, unsigned_data);
    return impl_->stream[index].event.event_id;
}

std::string FakeMatrix::join(const std::string& room_id, const std::string& user, const std::string& display_name) {
    std::lock_guard lock(impl_->mutex);
    impl_->room_or_throw(room_id);
    if (!display_name.empty() && impl_->users.count(user) == 0) impl_->users[user] = display_name;
    json content{{"membership", "join"}};
    const std::string name = display_name.empty() ? impl_->display_name(user) : display_name;
    if (!name.empty()) content["displayname"] = name;
    const std::size_t index = impl_->append_event(room_id, "m.room.member", user, content, user, false);
    return impl_->stream[index].event.event_id;
}

void FakeMatrix::redeliver(const std::string& event_id) {
    std::lock_guard lock(impl_->mutex);
    auto& impl = *impl_;
    const auto original = std::find_if(impl.stream.begin(), impl.stream.end(),
                                       [&](const Impl::Stored& stored) { return !stored.copy && stored.event.event_id == event_id; });
    if (original == impl.stream.end()) throw std::invalid_argument("FakeMatrix: no event " + event_id + " to redeliver");
    Impl::Stored copy = *original;
    copy.copy = true;
    copy.setup = false;
    copy.event.position = ++impl.position;
    const std::size_t index = impl.stream.size();
    impl.rooms.at(copy.event.room_id).events.push_back(index);
    impl.stream.push_back(std::move(copy));
    impl.stream_changed();
}

void FakeMatrix::mark_limited(const std::string& room_id) {
    std::lock_guard lock(impl_->mutex);
    impl_->room_or_throw(room_id).limited_next = true;
    impl_->stream_changed();
}

void FakeMatrix::rate_limit(const std::string& path_part, int times, int retry_after_ms) {
    std::lock_guard lock(impl_->mutex);
    Impl::Fault fault;
    fault.times = times;
    fault.retry_after_ms = retry_after_ms;
    impl_->limits[path_part] = fault;
}

void FakeMatrix::fail(const std::string& path_part, int times, int status, const std::string& body) {
    std::lock_guard lock(impl_->mutex);
    Impl::Fault fault;
    fault.times = times;
    fault.status = status;
    fault.body = body;
    impl_->failures[path_part] = fault;
}

void FakeMatrix::stall(const std::string& path_part, int times, std::chrono::milliseconds delay) {
    std::lock_guard lock(impl_->mutex);
    Impl::Fault fault;
    fault.times = times;
    fault.delay = delay;
    impl_->stalls[path_part] = fault;
}

void FakeMatrix::restart() {
    std::unique_lock lock(impl_->mutex);
    const std::uint64_t generation = ++impl_->restarts_requested;
    asio::post(impl_->io, [impl = impl_.get(), generation] { impl->drop_all(generation); });
    impl_->changed.wait_for(lock, restart_wait, [&] { return impl_->restarts_done >= generation; });
}

std::vector<MatrixCall> FakeMatrix::calls(const std::string& path_part) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<MatrixCall> out;
    for (const auto& [arrival, call] : impl_->history)
        if (call.path.find(path_part) != std::string::npos) out.push_back(call);
    return out;
}

bool FakeMatrix::wait_for_calls(const std::string& path_part, std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] {
        return static_cast<std::size_t>(std::count_if(impl_->history.begin(), impl_->history.end(), [&](const auto& entry) {
                   return entry.second.path.find(path_part) != std::string::npos;
               })) >= count;
    });
}

std::vector<MatrixEvent> FakeMatrix::sent(const std::string& room_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<MatrixEvent> out;
    for (const auto& stored : impl_->stream)
        if (stored.by_api && !stored.copy && (room_id.empty() || stored.event.room_id == room_id)) out.push_back(stored.event);
    return out;
}

bool FakeMatrix::wait_for_sent(const std::function<bool(const MatrixEvent&)>& match, std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(impl_->mutex);
    for (;;) {
        // Match on a copy without the lock, so `match` may do anything, even call the fake.
        std::vector<MatrixEvent> snapshot;
        for (const auto& stored : impl_->stream)
            if (stored.by_api && !stored.copy) snapshot.push_back(stored.event);
        const std::uint64_t seen = impl_->version;
        lock.unlock();
        if (std::any_of(snapshot.begin(), snapshot.end(), match)) return true;
        lock.lock();
        if (!impl_->changed.wait_until(lock, deadline, [&] { return impl_->version != seen; })) return false;
    }
}

nlohmann::json FakeMatrix::account_data(const std::string& type) const {
    std::lock_guard lock(impl_->mutex);
    const auto it = impl_->account.find(type);
    return it == impl_->account.end() ? json() : it->second.content;
}

void FakeMatrix::set_account_data(const std::string& type, const nlohmann::json& content) {
    std::lock_guard lock(impl_->mutex);
    impl_->set_account(type, content);
}

void FakeMatrix::skew_sender_clock(std::chrono::milliseconds by) {
    std::lock_guard lock(impl_->mutex);
    impl_->sender_skew_ms = by.count();
}

void FakeMatrix::backdate(std::chrono::milliseconds by) {
    std::lock_guard lock(impl_->mutex);
    impl_->backdated_ms = by.count();
}

void FakeMatrix::on_sent(std::function<void(const MatrixEvent&)> observer) {
    std::lock_guard lock(impl_->mutex);
    impl_->sent_observer = std::move(observer);
}

std::vector<std::string> FakeMatrix::sync_sinces() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->sinces;
}

std::size_t FakeMatrix::held_syncs() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->held;
}

bool FakeMatrix::wait_for_held_syncs(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->held >= count; });
}

std::size_t FakeMatrix::open_connections() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->open;
}

}  // namespace platbot::testing
