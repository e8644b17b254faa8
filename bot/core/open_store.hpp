#pragma once
// The store the config names: SQLite at store.path (one instance), or PostgreSQL at store.url
// (several instances share it).
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "bot/common/result.hpp"
#include "bot/config/config.hpp"
#include "bot/store/store.hpp"

namespace platbot::core {

// PostgreSQL is connected and migrated on `io`, which runs until then (an instance migrating
// at the same time is waited for); `io` must outlive the store. A failure is one line that
// says what to do, with no password in it.
Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, boost::asio::io_context& io);

// For `platbot check`: PostgreSQL's schema version against the one this build knows (nothing
// is migrated), or a warning line saying why the database cannot be reached; nothing for
// SQLite, whose file check leaves alone.
std::string schema_report(const config::Config& config);

// What logs and `platbot check` call the store: the path, or the URL without its password.
std::string store_name(const config::Config& config);

}  // namespace platbot::core
