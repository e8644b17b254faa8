// What the Matrix client decides without a homeserver: the transaction ids that make a send
// repeated after a crash the same send, and path segments.
#include "bot/chat/matrix/client.hpp"

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
