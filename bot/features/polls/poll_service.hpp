#pragma once
// Ad-hoc polls in a channel: `poll "Question?" "A" "B"` posts a poll whose counts update
// in place as people vote (at most once per `update_interval`), closes on time or when the
// creator or an admin says so, and then posts the results. Every vote is in the store
// before the voter is told it counted; one answer per person (or one per option with
// --multi), a second press changes or takes it back. Anonymous polls keep a keyed hash of
// each voter, never the id, and forget the key when they close.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/common/cancel.hpp"
#include "bot/net/clock.hpp"
#include "bot/store/polls.hpp"
#include "commands/directory.hpp"
#include "commands/engine.hpp"
#include "bot/features/polls/poll_command.hpp"

namespace platbot::polls {

struct PollSettings {
    std::string prefix = "/platform";
    std::string admin_group;  // may close anyone's poll; empty: nobody
    std::chrono::milliseconds update_interval{1000};
};

class PollService final : public commands::BuiltinCommand {
public:
    PollService(boost::asio::any_io_executor executor, chat::Outbox& outbox, store::PollStore& store,
                const commands::Directory& directory, net::Clock& clock, PollSettings settings);
    ~PollService() override;
    PollService(const PollService&) = delete;
    PollService& operator=(const PollService&) = delete;

    // `poll …` from the engine.
    commands::CommandSpec spec() const override { return poll_command_spec(); }
    chat::Task<chat::Reply> run(commands::Invocation invocation, chat::User who, chat::Origin where) override;

    // After a restart: polls that should have closed meanwhile close now (results posted);
    // the others close on time.
    chat::Task<void> recover();
    // Every `every` until `stop`, closes the polls whose time has passed, whichever instance
    // made them: a poll's closing timer lives on the instance that made it (or re-armed it at
    // its start), and one that stopped for good would leave its polls open until some
    // instance starts. Closing is one conditional update, so of a timer and another
    // instance's look exactly one closes a poll and posts its results. The service must
    // outlive it.
    chat::Task<void> take_over(std::chrono::milliseconds every, CancelToken stop);

    // For features that run polls themselves (surveys): records `poll` (its id is filled in
    // here), posts it to `where` and returns the id; empty, posting nothing, when it is a
    // survey question that another instance recorded first (that one posts its own).
    chat::Task<std::string> open_poll(store::PollRecord poll, chat::Origin where);
    // The same without posting it anywhere: people vote from ballots (poll_ballot) sent to
    // them; `home` is where it belongs. Returns the poll with its id; nothing when it is a
    // survey question that has its poll already (another instance recorded it first).
    chat::Task<std::optional<store::PollRecord>> record_poll(store::PollRecord poll, chat::Origin home);
    // Who holds a ballot of a poll voted from ballots sent to people (record_poll): the
    // feature that sent them says. Everyone else votes only in the poll's own conversation.
    using BallotHolders = std::function<chat::Task<bool>(store::PollRecord poll, chat::User who)>;
    void set_ballot_holders(BallotHolders holders) { ballot_holders_ = std::move(holders); }
    // Whether this person has a vote in the poll (anonymous polls: by their keyed hash).
    chat::Task<bool> has_voted(std::string poll_id, chat::User who);
    // Closes it (unless it already was) and redraws it without buttons; a poll that is not
    // part of a survey also gets its results posted.
    chat::Task<void> close_poll(std::string id, std::string closed_by);
    // Returns once no redraw of a poll message is waiting (or after `limit`): at the end of
    // piped console input, so the last counts are shown before the bot exits.
    chat::Task<void> settle(std::chrono::milliseconds limit);

private:
    struct Refresh {
        bool pending = false;
        std::chrono::steady_clock::time_point last{};
    };

    chat::Task<chat::Reply> create(NewPoll poll, chat::User who, chat::Origin where);
    chat::Task<std::string> unused_id();
    chat::Task<chat::Reply> vote(std::string id, int option, chat::User who, chat::Origin where);
    chat::Task<chat::Reply> unvote(std::string id, chat::User who, chat::Origin where);
    chat::Task<bool> may_vote_from(store::PollRecord poll, chat::User who, chat::Origin where);
    static chat::Reply not_from_here(const std::string& id);
    chat::Task<chat::Reply> close(std::string id, chat::User who);
    chat::Task<chat::Reply> results(std::string id);
    chat::Task<void> close_when_due(std::string id, std::chrono::system_clock::time_point due);
    // Closes every open poll whose closing time has passed (results posted by whoever closes it).
    chat::Task<void> close_overdue();
    chat::Task<void> refresh_after(std::string id, std::chrono::steady_clock::time_point due);
    chat::Task<void> redraw(std::string id);
    void schedule_refresh(const std::string& id);
    void arm_close(const store::PollRecord& poll);
    chat::Task<std::string> voter_of(store::PollRecord poll, chat::User who);
    void spawn(chat::Task<void> work, std::string what);

    boost::asio::any_io_executor executor_;
    chat::Outbox& outbox_;
    store::PollStore& store_;
    const commands::Directory& directory_;
    net::Clock& clock_;
    PollSettings settings_;
    std::map<std::string, Refresh> refresh_;
    CancelToken stopping_;
    BallotHolders ballot_holders_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace platbot::polls
