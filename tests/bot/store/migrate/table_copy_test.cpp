// Copying a store into another (platbot migrate-store): a SQLite store with some of every kind
// of record, copied into PostgreSQL and from there into a new SQLite file, has the same counts
// in each and reads back the same through the store interfaces, jobs of one millisecond in the
// order they were made; rows written on PostgreSQL after the copy are numbered past the copied
// ones. A target with records is refused unless told to replace them, a store is never copied
// onto itself, a copy that fails part way leaves the target as it was, and every table of the
// schema is either copied (parents first) or named as skipped.
#include "bot/store/migrate/table_copy.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bot/store/postgres/postgres_store.hpp"
#include "bot/store/store.hpp"
#include "support/postgres_server.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot::store;
using namespace std::chrono_literals;
using platbot::testing::await;
using platbot::testing::TempDir;
using Catch::Contains;
using Catch::StartsWith;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000) + 123ms;
const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? {a,b} \\ NULL '; DROP TABLE jobs; --";
const std::string ask_id = "survey:dx:1:ask";

JobRecord job(const std::string& id) {
    JobRecord record;
    record.id = id;
    record.command = "deploy";
    record.line = awkward;
    record.args_json = R"({"service":"api"})";
    record.requester_id = "U1";
    record.requester_name = "ana";
    record.adapter = "slack";
    record.conversation = "C1";
    record.state = JobState::succeeded;
    record.outcome = "deployed";
    record.instance = "host-a";
    record.created = record.updated = t0;  // all in one millisecond: only the order made tells them apart
    record.started = t0 + 1s;
    record.finished = t0 + 2s;
    return record;
}

AuditRecord audit_row(const std::string& line, TimePoint when) {
    AuditRecord row;
    row.time = when;
    row.adapter = "slack";
    row.user_id = "U1";
    row.user_name = "ana";
    row.channel = "C1";
    row.raw_line = line;
    row.command = "deploy";
    row.args_json = R"({"service":"api"})";
    row.decision = Decision::ran;
    row.outcome = "ok";
    row.duration = 12ms;
    row.rule = "commands.deploy.policy[0]";
    return row;
}

std::unique_ptr<Store> sqlite_at(const std::string& path) {
    auto opened = open_sqlite(path);
    if (!opened) throw std::runtime_error(opened.error().message);
    return std::move(opened.value());
}

postgres::PoolSettings settings_for(const std::string& url) {
    postgres::PoolSettings settings;
    settings.url = url;
    return settings;
}

std::unique_ptr<migrate::Tables> postgres_tables(boost::asio::io_context& io, const std::string& url) {
    return await(io, migrate::open_postgres_tables(io.get_executor(), settings_for(url), 10s), 30s);
}

migrate::CopyReport copy(boost::asio::io_context& io, migrate::Tables& from, migrate::Tables& to, bool replace = false) {
    return await(io, migrate::copy_tables(from, to, migrate::CopyOptions{replace}), 30s);
}

// The first two columns of each row `sql` returns, through a connection of the test's own.
std::vector<std::pair<std::string, std::string>> rows_of(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    std::vector<std::pair<std::string, std::string>> out;
    const auto text = [&](int column) {
        const auto* value = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
        return std::string(value ? value : "");
    };
    for (int row = 0; row < 10000 && sqlite3_step(statement) == SQLITE_ROW; ++row)
        out.emplace_back(text(0), sqlite3_column_count(statement) > 1 ? text(1) : std::string());
    sqlite3_finalize(statement);
    sqlite3_close_v2(db);
    return out;
}

void fill_jobs_and_audit(boost::asio::io_context& io, Store& store) {
    for (const char* id : {"zz1", "aa2", "mm3"}) await(io, store.jobs().insert_job(job(id)));
    for (const char* kind : {"requested", "started", "finished"})
        await(io, store.jobs().add_job_event(JobEvent{"zz1", t0, kind, "U1", awkward}));
    // A press another instance answered, and one still waiting for host-a.
    JobPress press;
    press.job_id = "zz1";
    press.instance = "host-a";
    press.kind = "approve";
    press.actor_id = "U3";
    press.actor_name = "carol";
    press.asked = t0;
    const std::int64_t answered = await(io, store.jobs().add_press(press));
    await(io, store.jobs().answer_press(answered, awkward, false, t0 + 1s));
    press.kind = "deny";
    press.reason = awkward;
    await(io, store.jobs().add_press(press));
    for (int i = 0; i < 3; ++i) store.audit_log().record(audit_row("/platform deploy api " + std::to_string(i), t0 + std::chrono::seconds(i)));
    InboxWrite write;
    write.instance = "host-a";
    write.arrived = {InboxEntry{"ev-1", R"({"text":"deploy api"})", t0}};
    write.finished_at = t0;
    await(io, store.inbox().write_inbox(write));
    await(io, store.instances().heartbeat("host-a", t0, t0));  // not copied: it describes a process
}

void fill_polls_surveys_onboarding(boost::asio::io_context& io, Store& store) {
    PollRecord poll;
    poll.id = "p1";
    poll.question = awkward;
    poll.options = {"Tue", "Thu"};
    poll.creator_id = "U1";
    poll.creator_name = "ana";
    poll.adapter = "slack";
    poll.conversation = "C1";
    poll.created = t0;
    poll.closes = t0 + 1h;
    await(io, store.polls().insert_poll(poll));
    await(io, store.polls().vote("p1", "U1", 0));
    await(io, store.polls().vote("p1", "U2", 1));
    const auto round = await(io, store.surveys().open_round("dx", false, t0, t0 + 24h));
    REQUIRE(round);
    await(io, store.surveys().answer_text("dx", round->round, TextAnswer{"q-free", "U1", "more docs", t0}));
    OnboardingProgress progress;
    progress.user_id = "U1";
    progress.user_name = "ana";
    progress.track_id = "first-week";
    progress.adapter = "slack";
    progress.conversation = "D1";
    progress.time_zone = "Europe/Berlin";
    progress.trigger = "joined #general";
    progress.started = t0;
    REQUIRE(await(io, store.onboarding().start_onboarding(progress)));
    REQUIRE(await(io, store.onboarding().record_step_sent(OnboardingStep{"U1", "first-week", "welcome", t0, "m1", std::nullopt, "", std::nullopt})));
    REQUIRE(await(io, store.onboarding().mark_step_done("U1", "first-week", "welcome", t0 + 1h, "button")));
    CHECK(await(io, store.onboarding().take_tip_number("U1")) == 0);
    CHECK(await(io, store.onboarding().take_tip_number("U1")) == 1);
}

void fill_the_rest(boost::asio::io_context& io, Store& store) {
    await(io, store.schedules().set_last_run("cron:digest", t0));
    await(io, store.state().set_state("slack.cursor", "c-42"));
    FanOutRecord fan_out;
    fan_out.id = ask_id;
    fan_out.kind = "survey.ask";
    fan_out.title = "Asking #general";
    fan_out.created = t0;
    REQUIRE(await(io, store.fan_outs().create(fan_out, {"U3", "U1", "U2"})));
    REQUIRE(await(io, store.fan_outs().mark(ask_id, Recipient{"U3", RecipientState::waiting, 0, ""}, Recipient{"U3", RecipientState::sent, 1, ""}, t0)));
    ServiceStatus up;
    up.service_id = "api";
    up.state = ServiceState::up;
    up.since = t0;
    up.successes = 2;
    up.detail = "200 OK";
    up.latency = 42ms;
    const StatusChange change{"api", t0, ServiceState::unknown, ServiceState::up, "200 OK"};
    await(io, store.status().record_probe(ProbeRecord{"api", t0, true, false, 42ms, "200 OK"}, up, change));
    // The same millisecond: newest first can only go by the order written.
    await(io, store.status().record_probe(ProbeRecord{"api", t0, true, true, 900ms, "slow"}, up, std::nullopt));
    await(io, store.status().set_announcement(Announcement{"maintenance at six", "U9", t0}));
    await(io, store.feedback().record_ask("zz1", "deploy", "U1", t0));
    await(io, store.feedback().record_answer(FeedbackAnswer{"zz1", "deploy", "U1", true, "smooth", t0 + 1min}));
    // A run counted against ana's limit of one a day: still in its window after the copy.
    const std::vector<RateWindow> daily{RateWindow{"user\ndeploy\nU1", 1, 24h}};
    CHECK_FALSE(await(io, store.rates().take(daily, t0)));
}

std::vector<std::int64_t> audit_ids(boost::asio::io_context& io, Store& store) {
    std::vector<std::int64_t> ids;
    for (const auto& row : await(io, store.audit_archive().audit_rows(AuditQuery{}))) ids.push_back(row.id);
    return ids;
}

void check_jobs_and_audit(boost::asio::io_context& io, Store& store, const std::vector<std::int64_t>& copied_audit_ids) {
    std::vector<std::string> newest_first;
    for (const auto& j : await(io, store.jobs().recent_jobs("", 10))) newest_first.push_back(j.id);
    CHECK(newest_first == std::vector<std::string>{"mm3", "aa2", "zz1"});
    const auto zz1 = await(io, store.jobs().find_job("zz1"));
    REQUIRE(zz1);
    CHECK(zz1->line == awkward);
    CHECK(zz1->state == JobState::succeeded);
    CHECK(zz1->instance == "host-a");
    CHECK(zz1->started == std::optional<TimePoint>(t0 + 1s));
    CHECK(zz1->finished == std::optional<TimePoint>(t0 + 2s));
    const auto events = await(io, store.jobs().job_events("zz1"));
    REQUIRE(events.size() == 3);
    CHECK(events[0].kind == "requested");
    CHECK(events[2].kind == "finished");
    CHECK(events[1].detail == awkward);
    const auto pending = await(io, store.jobs().pending_presses("host-a"));
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].kind == "deny");
    CHECK(pending[0].reason == awkward);
    CHECK_FALSE(pending[0].answered);
    const auto answered = await(io, store.jobs().find_press(pending[0].id - 1));
    REQUIRE(answered);
    CHECK(answered->kind == "approve");
    CHECK(answered->answer == awkward);
    CHECK(answered->answered == std::optional<TimePoint>(t0 + 1s));
    const auto rows = await(io, store.audit_archive().audit_rows(AuditQuery{}));
    CHECK(audit_ids(io, store) == copied_audit_ids);
    REQUIRE(rows.size() == 3);
    CHECK(rows[2].raw_line == "/platform deploy api 2");
    CHECK(rows[2].rule == "commands.deploy.policy[0]");
    CHECK(rows[2].duration == 12ms);
    CHECK(await(io, store.instances().list_instances()).empty());
}

void check_polls_surveys_onboarding(boost::asio::io_context& io, Store& store) {
    const auto poll = await(io, store.polls().find_poll("p1"));
    REQUIRE(poll);
    CHECK(poll->question == awkward);
    CHECK(poll->options == std::vector<std::string>{"Tue", "Thu"});
    CHECK(poll->closes == std::optional<TimePoint>(t0 + 1h));
    const auto tally = await(io, store.polls().tally("p1"));
    CHECK(tally.votes == std::vector<int>{1, 1});
    CHECK(tally.voters == 2);
    CHECK(await(io, store.polls().choices("p1", "U2")) == std::vector<int>{1});
    const auto round = await(io, store.surveys().find_round("dx", 1));
    REQUIRE(round);
    CHECK(round->closes == t0 + 24h);
    CHECK_FALSE(round->closed);
    const auto answers = await(io, store.surveys().text_answers("dx", 1));
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].text == "more docs");
    const auto progress = await(io, store.onboarding().find_onboarding("U1", "first-week"));
    REQUIRE(progress);
    CHECK(progress->next_step == 1);
    CHECK(progress->time_zone == "Europe/Berlin");
    const auto steps = await(io, store.onboarding().onboarding_steps("U1", "first-week"));
    REQUIRE(steps.size() == 1);
    CHECK(steps[0].done == std::optional<TimePoint>(t0 + 1h));
    CHECK(steps[0].done_how == "button");
}

void check_the_rest(boost::asio::io_context& io, Store& store) {
    CHECK(await(io, store.schedules().last_run("cron:digest")) == std::optional<TimePoint>(t0));
    CHECK(await(io, store.state().state("slack.cursor")) == std::optional<std::string>("c-42"));
    std::vector<std::string> recipients;
    for (const auto& r : await(io, store.fan_outs().recipients(ask_id))) recipients.push_back(r.user_id);
    CHECK(recipients == std::vector<std::string>{"U3", "U1", "U2"});
    const auto progress = await(io, store.fan_outs().progress(ask_id));
    CHECK(progress.total == 3);
    CHECK(progress.sent == 1);
    CHECK(progress.waiting == 2);
    const auto status = await(io, store.status().service_status("api"));
    REQUIRE(status);
    CHECK(status->state == ServiceState::up);
    CHECK(status->latency == 42ms);
    std::vector<std::string> probes;
    for (const auto& p : await(io, store.status().recent_probes("api", 10))) probes.push_back(p.detail);
    CHECK(probes == std::vector<std::string>{"slow", "200 OK"});
    CHECK(await(io, store.status().recent_changes("api", 10)).size() == 1);
    const auto announcement = await(io, store.status().announcement());
    REQUIRE(announcement);
    CHECK(announcement->text == "maintenance at six");
    const auto answer = await(io, store.feedback().answer_for("zz1"));
    REQUIRE(answer);
    CHECK(answer->good);
    CHECK(answer->comment == "smooth");
    // The copied take still counts: ana's second run that day waits for the first to leave.
    const std::vector<RateWindow> daily{RateWindow{"user\ndeploy\nU1", 1, 24h}};
    const auto refused = await(io, store.rates().take(daily, t0 + 1h));
    REQUIRE(refused);
    CHECK(refused->window == 0);
    CHECK(refused->wait == 23h);
}

// What changes the store: the tip counter goes on, and the unfinished event (its owner has no
// heartbeat in the copy) is claimed.
void check_counters_and_inbox(boost::asio::io_context& io, Store& store) {
    CHECK(await(io, store.onboarding().take_tip_number("U1")) == 2);
    const auto claimed = await(io, store.inbox().claim_unfinished("host-b", t0 + 1h, 30s));
    REQUIRE(claimed.size() == 1);
    CHECK(claimed[0].id == "ev-1");
    CHECK(claimed[0].payload == R"({"text":"deploy api"})");
}

}  // namespace

TEST_CASE("migrate-store: a SQLite store copied into PostgreSQL and back has the same counts and reads the same",
          "[store][migrate][postgres]") {
    boost::asio::io_context io;  // before the stores, which use it to the end
    TempDir dir;
    const std::string source_path = dir.file("source.db");
    std::vector<std::int64_t> copied_audit_ids;
    {
        auto source = sqlite_at(source_path);
        fill_jobs_and_audit(io, *source);
        fill_polls_surveys_onboarding(io, *source);
        fill_the_rest(io, *source);
        copied_audit_ids = audit_ids(io, *source);
    }
    const std::string url = platbot::testing::shared_postgres().fresh_database();
    auto sqlite_source = migrate::open_sqlite_tables(source_path, true);
    auto postgres = postgres_tables(io, url);
    const auto there = copy(io, *sqlite_source, *postgres);
    CHECK(there.from == "sqlite:" + source_path);
    CHECK_THAT(there.to, StartsWith("postgres://platbot@127.0.0.1:"));
    REQUIRE(there.tables.size() == migrate::copied_tables().size());
    for (const auto& table : there.tables) {
        INFO(table.table);
        CHECK(table.rows > 0);  // some of everything
    }
    auto sqlite_back = migrate::open_sqlite_tables(dir.file("back.db"), false);
    const auto back = copy(io, *postgres, *sqlite_back);
    REQUIRE(back.tables.size() == there.tables.size());
    for (std::size_t i = 0; i < back.tables.size(); ++i) CHECK(back.tables[i].rows == there.tables[i].rows);
    CHECK(back.rows() == there.rows());

    auto on_postgres = await(io, postgres::PostgresStore::open(io.get_executor(), settings_for(url), 10s));
    auto on_sqlite = sqlite_at(dir.file("back.db"));
    for (Store* store : {static_cast<Store*>(on_postgres.get()), on_sqlite.get()}) {
        check_jobs_and_audit(io, *store, copied_audit_ids);
        check_polls_surveys_onboarding(io, *store);
        check_the_rest(io, *store);
        check_counters_and_inbox(io, *store);
    }

    // PostgreSQL numbers new rows past the copied ones (without that, the first insert would
    // take the copied id 1) and orders a job made now after the copied ones of its millisecond.
    on_postgres->audit_log().record(audit_row("/platform after the copy", t0 + 1h));
    const auto rows = await(io, on_postgres->audit_archive().audit_rows(AuditQuery{}));
    REQUIRE(rows.size() == 4);
    CHECK(rows[3].raw_line == "/platform after the copy");
    CHECK(rows[3].id > copied_audit_ids.back());
    await(io, on_postgres->jobs().insert_job(job("nn4")));
    await(io, on_postgres->jobs().add_job_event(JobEvent{"nn4", t0, "requested", "U1", ""}));
    CHECK(await(io, on_postgres->jobs().job_events("nn4")).size() == 1);
    CHECK(await(io, on_postgres->jobs().recent_jobs("", 1)).at(0).id == "nn4");
    JobPress press;
    press.job_id = "nn4";
    press.instance = "host-a";
    press.kind = "cancel";
    press.actor_id = "U1";
    press.actor_name = "ana";
    press.asked = t0 + 1h;
    const std::int64_t copied_press = await(io, on_postgres->jobs().pending_presses("host-a")).at(0).id;
    CHECK(await(io, on_postgres->jobs().add_press(press)) > copied_press);
}

TEST_CASE("migrate-store: a target with records is refused unless told to replace them, and never the source itself",
          "[store][migrate][postgres]") {
    boost::asio::io_context io;
    TempDir dir;
    const std::string source_path = dir.file("source.db");
    fill_jobs_and_audit(io, *sqlite_at(source_path));
    const std::string url = platbot::testing::shared_postgres().fresh_database();
    auto from = migrate::open_sqlite_tables(source_path, true);
    auto to = postgres_tables(io, url);
    const auto first = copy(io, *from, *to);
    try {
        copy(io, *from, *to);
        FAIL("a target with records was written to");
    } catch (const migrate::CopyFailure& e) {
        const std::string message = e.what();
        CHECK_THAT(message, Contains(" is not empty (audit_log has 3 rows) — pass --force to replace what is there"));
        CHECK(message.find('\n') == std::string::npos);
    }
    const auto replaced = copy(io, *from, *to, true);
    CHECK(replaced.rows() == first.rows());
    auto store = await(io, postgres::PostgresStore::open(io.get_executor(), settings_for(url), 10s));
    CHECK(await(io, store->audit_archive().audit_rows(AuditQuery{})).size() == 3);
    CHECK(await(io, store->jobs().job_events("zz1")).size() == 3);

    // The same store under another name: another path to the file, other settings in the URL.
    auto same_file = migrate::open_sqlite_tables(dir.path().string() + "/./source.db", true);
    CHECK_THROWS_WITH(copy(io, *from, *same_file, true), Contains("are the same store"));
    auto same_database = postgres_tables(io, url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=copy");
    CHECK_THROWS_WITH(copy(io, *to, *same_database, true), Contains("are the same store"));
    CHECK_THROWS_WITH(migrate::open_sqlite_tables(dir.file("missing.db"), true), Contains("there is no SQLite database at"));
}

TEST_CASE("migrate-store: a copy that fails part way leaves the target as it was", "[store][migrate]") {
    boost::asio::io_context io;
    TempDir dir;
    const std::string source_path = dir.file("source.db");
    const std::string target_path = dir.file("target.db");
    fill_jobs_and_audit(io, *sqlite_at(source_path));
    sqlite_at(target_path).reset();
    // The target refuses the trail of jobs, copied after the audit log and the jobs.
    rows_of(target_path, "CREATE TRIGGER no_events BEFORE INSERT ON job_events BEGIN SELECT RAISE(ABORT, 'no events here'); END");
    auto from = migrate::open_sqlite_tables(source_path, true);
    auto to = migrate::open_sqlite_tables(target_path, false);
    CHECK_THROWS_WITH(copy(io, *from, *to), Contains("no events here"));
    CHECK(await(io, to->count("audit_log")) == 0);
    CHECK(await(io, to->count("jobs")) == 0);
    rows_of(target_path, "DROP TRIGGER no_events");
    CHECK(copy(io, *from, *to).rows() > 0);  // nothing was left half done in the way
}

TEST_CASE("migrate-store: every table of the schema is copied or skipped, and parents are copied before their children",
          "[store][migrate]") {
    TempDir dir;
    const std::string path = dir.file("schema.db");
    sqlite_at(path).reset();
    std::set<std::string> in_schema;
    for (const auto& [table, unused] : rows_of(path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        in_schema.insert(table);
    const auto& copied = migrate::copied_tables();
    const auto& skipped = migrate::skipped_tables();
    std::set<std::string> listed(copied.begin(), copied.end());
    listed.insert(skipped.begin(), skipped.end());
    CHECK(listed.size() == copied.size() + skipped.size());  // none twice
    // A table the schema gained needs a place in table_copy.cpp: copied, or skipped and why.
    CHECK(listed == in_schema);
    const auto place = [&](const std::string& table) { return std::find(copied.begin(), copied.end(), table) - copied.begin(); };
    const auto references = rows_of(path,
                                    "SELECT m.name, f.\"table\" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f "
                                    "WHERE m.type = 'table'");
    CHECK(references.size() >= 4);
    for (const auto& [child, parent] : references) {
        INFO(child << " references " << parent);
        CHECK(place(parent) < place(child));
    }
}
