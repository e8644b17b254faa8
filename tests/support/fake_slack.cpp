// The fake Slack's life and what a test asks of it: it starts and stops, takes users, channels,
// overrides and holds, and reports calls, messages, connections and acks. The serving is in
// fake_slack_http.cpp, fake_slack_web_api.cpp and fake_slack_socket_mode.cpp.
#include "support/fake_slack_impl.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>

namespace platbot::testing {

FakeSlack::FakeSlack() : impl_(std::make_unique<Impl>()) {
    auto& acceptor = impl_->acceptor;
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(loopback.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(loopback);
    acceptor.listen(asio::socket_base::max_listen_connections);
    impl_->port = acceptor.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), ignore_errors);
    asio::co_spawn(impl_->io, impl_->redelivery_loop(), ignore_errors);
    impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

FakeSlack::~FakeSlack() {
    // Stopping abandons every pending wait; destroying the io_context (with Impl) then destroys
    // the suspended coroutines, which closes their sockets — clients see the connection end.
    impl_->io.stop();
    impl_->thread.join();
    impl_->live.clear();
}

unsigned short FakeSlack::port() const { return impl_->port; }
std::string FakeSlack::api_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/api/"; }
std::string FakeSlack::bot_token() const { return bot_token_text; }
std::string FakeSlack::app_token() const { return app_token_text; }

void FakeSlack::respond(const std::string& method, SlackMethodHandler handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->overrides[method] = std::move(handler);
}

void FakeSlack::refuse_bot_token(const std::string& error) {
    std::lock_guard lock(impl_->mutex);
    impl_->bot_token_refusal = error;
}

void FakeSlack::rate_limit(const std::string& method, int times, int retry_after_seconds) {
    std::lock_guard lock(impl_->mutex);
    impl_->limits[method] = Impl::Limit{times, retry_after_seconds};
}

void FakeSlack::add_user(const std::string& id, const std::string& name, const std::string& tz, bool is_bot) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[id] = Impl::User{name, tz, is_bot, {}, false, {}};
}

void FakeSlack::set_members(const std::string& channel, std::vector<std::string> user_ids) {
    std::lock_guard lock(impl_->mutex);
    impl_->members[channel] = std::move(user_ids);
}

void FakeSlack::set_display_name(const std::string& id, const std::string& display_name) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[id].display_name = display_name;
}

void FakeSlack::set_email(const std::string& id, const std::string& email) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[id].email = email;
}

void FakeSlack::deactivate_user(const std::string& id) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[id].deleted = true;
}

void FakeSlack::add_channel(const std::string& id, const std::string& name, bool is_private, bool archived) {
    std::lock_guard lock(impl_->mutex);
    impl_->channels.push_back({id, name, is_private, archived});
}

void FakeSlack::hold(const std::string& method) {
    std::lock_guard lock(impl_->mutex);
    impl_->held_methods.insert(method);
    impl_->held_drop_gone = false;
}

void FakeSlack::release_held() {
    std::lock_guard lock(impl_->mutex);
    impl_->held_methods.clear();
    impl_->held_let_through = 0;
}

void FakeSlack::release_held_of_live_callers() {
    std::lock_guard lock(impl_->mutex);
    impl_->held_methods.clear();
    impl_->held_let_through = 0;
    impl_->held_drop_gone = true;
}

void FakeSlack::release_one() {
    std::lock_guard lock(impl_->mutex);
    ++impl_->held_let_through;
}

void FakeSlack::drop_held() {
    std::lock_guard lock(impl_->mutex);
    impl_->held_methods.clear();
    impl_->held_let_through = 0;
    ++impl_->held_dropped;
}

std::size_t FakeSlack::held_calls() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->held_waiting;
}

std::vector<SlackCall> FakeSlack::calls(const std::string& method) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SlackCall> out;
    for (const auto& call : impl_->history)
        if (method.empty() || call.method == method) out.push_back(call);
    return out;
}

bool FakeSlack::wait_for_calls(const std::string& method, std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] {
        return static_cast<std::size_t>(std::count_if(impl_->history.begin(), impl_->history.end(), [&](const SlackCall& call) {
                   return method.empty() || call.method == method;
               })) >= count;
    });
}

std::vector<SlackMessage> FakeSlack::messages(const std::string& channel) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SlackMessage> out;
    for (const auto& message : impl_->posted)
        if (channel.empty() || message.channel == channel) out.push_back(message);
    return out;
}

bool FakeSlack::wait_for_message(const std::function<bool(const SlackMessage&)>& match,
                                 std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(impl_->mutex);
    for (;;) {
        // Match on a copy without the lock, so `match` may do anything, even call the fake.
        const std::vector<SlackMessage> snapshot = impl_->posted;
        const std::uint64_t seen = impl_->version;
        lock.unlock();
        if (std::any_of(snapshot.begin(), snapshot.end(), match)) return true;
        lock.lock();
        if (!impl_->changed.wait_until(lock, deadline, [&] { return impl_->version != seen; })) return false;
    }
}

std::size_t FakeSlack::open_connections() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->live.size();
}

std::size_t FakeSlack::connections_ever() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->ever;
}

bool FakeSlack::wait_for_connections(std::size_t open, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->live.size() == open; });
}

std::size_t FakeSlack::pongs() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->pongs;
}

bool FakeSlack::wait_for_pongs(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->pongs >= count; });
}

std::vector<nlohmann::json> FakeSlack::acks() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->acked;
}

bool FakeSlack::wait_for_ack(const std::string& envelope_id, std::chrono::milliseconds timeout) const {
    return wait_for_acks(envelope_id, 1, timeout);
}

namespace {
std::size_t count_acks(const std::vector<json>& acked, const std::string& envelope_id) {
    return static_cast<std::size_t>(std::count_if(acked.begin(), acked.end(),
                                                  [&](const json& ack) { return ack.value("envelope_id", "") == envelope_id; }));
}
}  // namespace

bool FakeSlack::wait_for_acks(const std::string& envelope_id, std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return count_acks(impl_->acked, envelope_id) >= count; });
}

std::size_t FakeSlack::acks_for(const std::string& envelope_id) const {
    std::lock_guard lock(impl_->mutex);
    return count_acks(impl_->acked, envelope_id);
}

}  // namespace platbot::testing
