// What the Matrix client decides without a homeserver: the transaction ids that make a send
// repeated after a crash the same send, those of sends without a cause that no two instances
// share, and path segments.
#include "bot/chat/matrix/client.hpp"

#include <boost/asio/io_context.hpp>

#include "bot/net/http_client.hpp"

#include <catch2/catch.hpp>

using platbot::chat::matrix::Client;
using json = nlohmann::json;

TEST_CASE("matrix client: an answer to an event has the same transaction id in every run, different answers differ",
          "[matrix][client]") {
    const json notice{{"msgtype", "m.notice"}, {"body", "deployed"}};
    const std::string id = Client::transaction_for("$cmd1", "!ops:example.org", "m.room.message", notice);
    CHECK(id == Client::transaction_for("$cmd1", "!ops:example.org", "m.room.message", json::parse(notice.dump())));
    CHECK(id.starts_with("pbe"));
    CHECK(id.size() == 43);

    const json other{{"msgtype", "m.notice"}, {"body", "failed"}};
    CHECK(id != Client::transaction_for("$cmd1", "!ops:example.org", "m.room.message", other));
    CHECK(id != Client::transaction_for("$cmd2", "!ops:example.org", "m.room.message", notice));
    CHECK(id != Client::transaction_for("$cmd1", "!dm:example.org", "m.room.message", notice));
    CHECK(id != Client::transaction_for("$cmd1", "!ops:example.org", "m.poll.start", notice));
}

TEST_CASE("matrix client: ids in a path are percent-encoded as one segment", "[matrix][client]") {
    CHECK(Client::segment("!ops:example.org") == "%21ops%3Aexample.org");
    CHECK(Client::segment("#team/a") == "%23team%2Fa");
}

TEST_CASE("matrix client: sends without a cause get ids of their own, which name the instance, so two instances started "
          "in the same millisecond never share one",
          "[matrix][client]") {
    boost::asio::io_context io;
    platbot::net::HttpClient http(io.get_executor());
    platbot::chat::matrix::ClientOptions as_a;
    as_a.instance = "web-1";
    platbot::chat::matrix::ClientOptions as_b = as_a;
    as_b.instance = "web-2";
    Client a(io.get_executor(), http, as_a);
    Client b(io.get_executor(), http, as_b);
    const std::string first = a.new_transaction_id();
    CHECK(first.starts_with("pbweb-1-"));
    CHECK(a.new_transaction_id() != first);
    CHECK(b.new_transaction_id().starts_with("pbweb-2-"));
}
