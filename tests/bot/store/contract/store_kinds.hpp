#pragma once
// The stores the contract tests run against: each test case is written once, as a template
// over these, and runs on a fresh SQLite file and on a fresh database of the PostgreSQL the
// tests start. An interface joins here once both stores implement it.
#include <utility>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "bot/store/postgres/postgres_store.hpp"
#include "bot/store/store.hpp"
#include "support/postgres_server.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace platbot::testing {

// What both kinds offer the tests: the loop, the store's interfaces, and awaiting on the loop.
template <class StoreType>
struct KindBase {
    template <class T>
    T await(boost::asio::awaitable<T> task) {
        return testing::await(io, std::move(task));
    }
    store::AuditLog& audit_log() { return store->audit_log(); }
    store::AuditArchive& audit_archive() { return store->audit_archive(); }
    store::ScheduleStore& schedules() { return store->schedules(); }
    store::StateStore& state() { return store->state(); }
    store::FeedbackStore& feedback() { return store->feedback(); }
    store::PollStore& polls() { return store->polls(); }
    store::SurveyStore& surveys() { return store->surveys(); }
    store::OnboardingStore& onboarding() { return store->onboarding(); }
    store::StatusStore& status() { return store->status(); }
    store::FanOutStore& fan_outs() { return store->fan_outs(); }
    store::JobStore& jobs() { return store->jobs(); }
    store::Inbox& inbox() { return store->inbox(); }
    store::InstanceStore& instances() { return store->instances(); }
    store::RateStore& rates() { return store->rates(); }

    boost::asio::io_context io;
    std::unique_ptr<StoreType> store;
};

struct SqliteKind : KindBase<store::Store> {
    static constexpr const char* name = "SQLite";

    SqliteKind() { store = open(); }
    ~SqliteKind() { store.reset(); }  // closed before its folder goes

    // Another instance: a second connection to the same database.
    std::unique_ptr<store::Store> another() { return open(); }

    TempDir dir;

private:
    std::unique_ptr<store::Store> open() {
        auto opened = store::open_sqlite(dir.file("platbot.db"));
        if (!opened) throw std::runtime_error(opened.error().message);
        return std::move(opened.value());
    }
};

struct PostgresKind : KindBase<store::postgres::PostgresStore> {
    static constexpr const char* name = "PostgreSQL";

    PostgresKind() : url(shared_postgres().fresh_database()) { store = open(); }

    std::unique_ptr<store::postgres::PostgresStore> another() { return open(); }

    std::string url;

private:
    std::unique_ptr<store::postgres::PostgresStore> open() {
        store::postgres::PoolSettings settings;
        settings.url = url;
        return testing::await(io, store::postgres::PostgresStore::open(io.get_executor(), settings, std::chrono::seconds(10)));
    }
};

}  // namespace platbot::testing
