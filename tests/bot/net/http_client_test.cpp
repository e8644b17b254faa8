#include "bot/net/http_client.hpp"
#include "bot/common/text.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/fake_http_server.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_identity.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using platbot::CancelToken;
using platbot::net::HttpClient;
using platbot::net::HttpFailure;
using platbot::net::HttpOutcome;
using platbot::net::HttpRequest;
using platbot::net::HttpResponse;
using platbot::text::percent_encode;
using platbot::testing::FakeHttpServer;
using platbot::testing::FakeResponse;
using platbot::testing::ReceivedRequest;
using platbot::testing::TempDir;
using platbot::testing::TlsIdentity;

using platbot::testing::run_until;

namespace {

void rethrow(std::exception_ptr error) {
    if (error) std::rethrow_exception(error);
}

// A send() running on the test's loop while the test acts on it (cancels it, drops the
// client, starts more); `outcome` is set when it completes.
struct Call {
    std::optional<HttpOutcome> outcome;
};

std::shared_ptr<Call> start(asio::io_context& io, HttpClient& client, HttpRequest request, CancelToken cancel = {}) {
    auto call = std::make_shared<Call>();
    asio::co_spawn(
        io,
        [&client, request = std::move(request), cancel, call]() -> asio::awaitable<void> {
            call->outcome.emplace(co_await client.send(request, cancel));
        },
        rethrow);
    return call;
}

HttpOutcome send_one(asio::io_context& io, HttpClient& client, HttpRequest request) {
    return platbot::testing::await(io, client.send(std::move(request)));
}

HttpRequest get(std::string url) {
    HttpRequest request;
    request.url = std::move(url);
    return request;
}

struct Fixture {
    asio::io_context io;  // first: outlives the client, whose teardown posts to it
    FakeHttpServer server;
    HttpClient client{io.get_executor()};

    std::string where() const { return "127.0.0.1:" + std::to_string(server.port()); }
};

bool one_line(const std::string& text) { return text.find_first_of("\r\n") == std::string::npos; }

}  // namespace

TEST_CASE_METHOD(Fixture, "HttpClient GETs JSON with query and headers", "[net][http]") {
    server.route("GET", "/items",
                 FakeResponse{200, {{"Content-Type", "application/json"}, {"X-Count", "2"}}, R"({"items":[1,2]})", {}});
    auto request = get(server.url("/items?name=" + percent_encode("a b&c") + "&page=2"));
    request.headers = {{"Accept", "application/json"}, {"X-Trace-Id", "abc123"}};

    auto outcome = send_one(io, client, request);

    REQUIRE(outcome.ok());
    const auto& response = outcome.response();
    CHECK(response.status == 200);
    CHECK(nlohmann::json::parse(response.body) == nlohmann::json{{"items", {1, 2}}});
    CHECK(response.header("content-type") == "application/json");
    CHECK(response.header("x-count") == "2");
    CHECK_FALSE(response.truncated);
    CHECK(response.effective_url == request.url);

    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].target == "/items?name=a%20b%26c&page=2");
    CHECK(seen[0].header("accept") == "application/json");
    CHECK(seen[0].header("x-trace-id") == "abc123");
    CHECK(seen[0].body.empty());
}

TEST_CASE_METHOD(Fixture, "HttpClient POSTs a JSON body and reads the JSON answer", "[net][http]") {
    server.route("POST", "/deploy", [](const ReceivedRequest& request) {
        auto sent = nlohmann::json::parse(request.body);
        return FakeResponse{201, {{"Content-Type", "application/json"}},
                            nlohmann::json{{"service", sent["service"]}, {"queued", true}}.dump(), {}};
    });
    HttpRequest request = get(server.url("/deploy"));
    request.method = "POST";
    request.headers = {{"Content-Type", "application/json"}};
    request.body = nlohmann::json{{"service", "billing"}, {"version", "1.4.2"}}.dump();

    auto outcome = send_one(io, client, request);

    REQUIRE(outcome.ok());
    CHECK(outcome.response().status == 201);
    CHECK(nlohmann::json::parse(outcome.response().body) == nlohmann::json{{"service", "billing"}, {"queued", true}});
    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].body == request.body);
    CHECK(seen[0].header("content-type") == "application/json");
    CHECK(seen[0].header("content-length") == std::to_string(request.body.size()));
    CHECK(seen[0].header("expect").empty());
}

TEST_CASE_METHOD(Fixture, "HttpClient sends the method it is given", "[net][http]") {
    server.route("PUT", "/thing", FakeResponse{204, {}, "", {}});
    server.route("DELETE", "/thing", FakeResponse{200, {}, "gone", {}});
    server.route("HEAD", "/thing", FakeResponse{200, {{"X-Kind", "head"}}, "twelve bytes", {}});

    auto put = get(server.url("/thing"));
    put.method = "PUT";
    put.body = "raw bytes";
    auto del = get(server.url("/thing"));
    del.method = "DELETE";
    auto head = get(server.url("/thing"));
    head.method = "HEAD";

    auto put_outcome = send_one(io, client, put);
    auto del_outcome = send_one(io, client, del);
    auto head_outcome = send_one(io, client, head);

    REQUIRE(put_outcome.ok());
    CHECK(put_outcome.response().status == 204);
    REQUIRE(del_outcome.ok());
    CHECK(del_outcome.response().body == "gone");
    REQUIRE(head_outcome.ok());
    CHECK(head_outcome.response().status == 200);
    CHECK(head_outcome.response().body.empty());
    CHECK(head_outcome.response().header("x-kind") == "head");
    CHECK(head_outcome.response().header("content-length") == "12");

    const auto seen = server.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].method == "PUT");
    CHECK(seen[0].body == "raw bytes");
    CHECK(seen[0].header("content-type").empty());  // no form type guessed for a raw body
    CHECK(seen[1].method == "DELETE");
    CHECK(seen[1].body.empty());
    CHECK(seen[2].method == "HEAD");
}

TEST_CASE_METHOD(Fixture, "HttpClient returns a 500 as a response, not an error", "[net][http]") {
    server.route("GET", "/broken", FakeResponse{500, {}, "boom", {}});

    auto outcome = send_one(io, client, get(server.url("/broken")));

    REQUIRE(outcome.ok());
    CHECK(outcome.response().status == 500);
    CHECK(outcome.response().body == "boom");
}

TEST_CASE_METHOD(Fixture, "HttpClient gives up on a slow response at the timeout", "[net][http]") {
    server.route("GET", "/slow", FakeResponse{200, {}, "too late", 3s});
    auto request = get(server.url("/slow"));
    request.timeout = 300ms;

    auto outcome = send_one(io, client, request);

    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().kind == HttpFailure::timeout);
    CHECK(outcome.error().message == "timed out after 300ms calling " + where());
    CHECK(client.in_flight() == 0);
}

TEST_CASE_METHOD(Fixture, "HttpClient reports a refused connection", "[net][http]") {
    unsigned short closed_port = 0;
    {
        asio::io_context scratch;
        asio::ip::tcp::acceptor socket(scratch);
        const asio::ip::tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
        socket.open(loopback.protocol());
        socket.bind(loopback);
        closed_port = socket.local_endpoint().port();
    }  // closed: nothing listens there now

    auto outcome = send_one(io, client, get("http://127.0.0.1:" + std::to_string(closed_port) + "/"));

    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().kind == HttpFailure::connect);
    CHECK(outcome.error().message ==
          "could not connect to 127.0.0.1:" + std::to_string(closed_port) + " (connection refused)");
}

TEST_CASE_METHOD(Fixture, "HttpClient reports TLS trouble as a tls failure", "[net][http]") {
    // The fake server speaks plain HTTP, so the TLS handshake cannot succeed.
    auto outcome = send_one(io, client, get("https://127.0.0.1:" + std::to_string(server.port()) + "/"));

    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().kind == HttpFailure::tls);
    CHECK_THAT(outcome.error().message, Catch::StartsWith("TLS failure calling " + where()));
    CHECK(one_line(outcome.error().message));
}

// An HTTPS server whose self-signed certificate no system bundle trusts.
struct TlsFixture {
    asio::io_context io;
    TlsIdentity identity = TlsIdentity::self_signed();
    FakeHttpServer server{identity};
    HttpClient client{io.get_executor()};
    TempDir dir;

    TlsFixture() { server.route("GET", "/secure", FakeResponse{200, {}, R"({"tls":true})", {}}); }
};

TEST_CASE_METHOD(TlsFixture, "HttpClient verifies certificates by default and refuses an untrusted one",
                 "[net][http][tls]") {
    auto outcome = send_one(io, client, get(server.url("/secure")));

    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().kind == HttpFailure::tls);
    CHECK(one_line(outcome.error().message));
    CHECK(server.requests().empty());  // nothing was sent over the unverified connection
}

TEST_CASE_METHOD(TlsFixture, "HttpClient trusts a server whose certificate is in the configured CA bundle",
                 "[net][http][tls]") {
    auto request = get(server.url("/secure"));
    request.ca_bundle = dir.write("ca.pem", identity.certificate_pem);

    auto outcome = send_one(io, client, request);

    REQUIRE(outcome.ok());
    CHECK(outcome.response().status == 200);
    CHECK(outcome.response().body == R"({"tls":true})");
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].path == "/secure");
}

TEST_CASE("HttpClient refuses a trusted certificate issued for another name", "[net][http][tls]") {
    asio::io_context io;
    const auto identity = TlsIdentity::self_signed("DNS:platform.example");
    FakeHttpServer server{identity};
    server.route("GET", "/secure", FakeResponse{200, {}, "{}", {}});
    HttpClient client{io.get_executor()};
    TempDir dir;
    auto request = get(server.url("/secure"));
    request.ca_bundle = dir.write("ca.pem", identity.certificate_pem);

    auto outcome = send_one(io, client, request);

    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().kind == HttpFailure::tls);
    CHECK(server.requests().empty());
}

TEST_CASE_METHOD(TlsFixture, "HttpClient skips verification only when told to", "[net][http][tls]") {
    auto request = get(server.url("/secure"));
    request.verify_tls = false;

    auto outcome = send_one(io, client, request);

    REQUIRE(outcome.ok());
    CHECK(outcome.response().status == 200);
}

TEST_CASE_METHOD(Fixture, "HttpClient follows redirects only when asked", "[net][http]") {
    server.route("GET", "/old", FakeResponse{302, {{"Location", "/new"}}, "", {}});
    server.route("GET", "/new", FakeResponse{200, {}, "new place", {}});

    SECTION("not followed by default") {
        auto outcome = send_one(io, client, get(server.url("/old")));
        REQUIRE(outcome.ok());
        CHECK(outcome.response().status == 302);
        CHECK(outcome.response().header("location") == "/new");
        CHECK(server.requests().size() == 1);
    }
    SECTION("followed when asked") {
        auto request = get(server.url("/old"));
        request.follow_redirects = true;
        auto outcome = send_one(io, client, request);
        REQUIRE(outcome.ok());
        CHECK(outcome.response().status == 200);
        CHECK(outcome.response().body == "new place");
        CHECK(outcome.response().effective_url == server.url("/new"));
        CHECK(outcome.response().header("location").empty());  // headers are the final response's
        CHECK(server.requests().size() == 2);
    }
}

TEST_CASE_METHOD(Fixture, "HttpClient keeps the head of a huge body and marks it truncated", "[net][http]") {
    std::string huge(3 << 20, 'x');
    for (std::size_t i = 0; i < huge.size(); i += 1000) huge[i] = static_cast<char>('a' + (i / 1000) % 26);
    server.route("GET", "/huge", FakeResponse{200, {}, huge, {}});
    auto request = get(server.url("/huge"));
    request.max_response_bytes = 64 * 1024;

    auto outcome = send_one(io, client, request);

    REQUIRE(outcome.ok());
    CHECK(outcome.response().status == 200);
    CHECK(outcome.response().truncated);
    REQUIRE(outcome.response().body.size() == request.max_response_bytes);
    CHECK(outcome.response().body == huge.substr(0, request.max_response_bytes));
}

TEST_CASE_METHOD(Fixture, "HttpClient refuses CR or LF in headers and sends nothing", "[net][http]") {
    server.route("GET", "/ok", FakeResponse{200, {}, "fine", {}});
    const auto bad = GENERATE(platbot::net::Header{"X-Note", "line one\r\nX-Injected: yes"},
                              platbot::net::Header{"X-Note", "line one\nX-Injected: yes"},
                              platbot::net::Header{"X-Bad\r\nX-Injected", "yes"});
    auto request = get(server.url("/ok"));
    request.headers = {{"Accept", "text/plain"}, bad};

    auto outcome = send_one(io, client, request);

    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().kind == HttpFailure::bad_request);
    CHECK_THAT(outcome.error().message, Catch::Contains("X-"));
    CHECK(one_line(outcome.error().message));
    // A clean request afterwards is the only thing the server ever saw.
    REQUIRE(send_one(io, client, get(server.url("/ok?after=1"))).ok());
    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].target == "/ok?after=1");
}

TEST_CASE_METHOD(Fixture, "HttpClient rejects URLs it cannot or must not fetch", "[net][http]") {
    const auto url = GENERATE(std::string("not a url"), std::string("ftp://127.0.0.1/file"),
                              std::string("file:///etc/passwd"));

    auto outcome = send_one(io, client, get(url));

    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().kind == HttpFailure::bad_request);
    CHECK(one_line(outcome.error().message));
}

TEST_CASE_METHOD(Fixture, "HttpClient sends basic auth", "[net][http]") {
    server.route("GET", "/private", FakeResponse{200, {}, "secret", {}});
    auto request = get(server.url("/private"));
    request.basic_user = "alice";
    request.basic_password = "s3cret:x";

    auto outcome = send_one(io, client, request);

    REQUIRE(outcome.ok());
    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].header("authorization") == "Basic YWxpY2U6czNjcmV0Ong=");  // base64("alice:s3cret:x")
}

TEST_CASE_METHOD(Fixture, "HttpClient cancels a transfer in flight", "[net][http]") {
    server.route("GET", "/hang", FakeResponse{200, {}, "never seen", 5s});
    CancelToken cancel;
    auto call = start(io, client, get(server.url("/hang")), cancel);
    REQUIRE(run_until(io, [&] { return server.requests().size() == 1; }, 5s));
    CHECK(client.in_flight() == 1);

    cancel.cancel();

    // Well before the server's 5 s answer.
    REQUIRE(run_until(io, [&] { return call->outcome.has_value(); }, 2s));
    REQUIRE_FALSE(call->outcome->ok());
    CHECK(call->outcome->error().kind == HttpFailure::cancelled);
    CHECK(one_line(call->outcome->error().message));
    CHECK(client.in_flight() == 0);
}

TEST_CASE_METHOD(Fixture, "HttpClient does not start a transfer that is already cancelled", "[net][http]") {
    server.route("GET", "/ok", FakeResponse{200, {}, "fine", {}});
    CancelToken cancel;
    cancel.cancel();

    const auto outcome = platbot::testing::await(io, client.send(get(server.url("/ok")), cancel), 2s);

    REQUIRE_FALSE(outcome.ok());
    CHECK(outcome.error().kind == HttpFailure::cancelled);
    REQUIRE(send_one(io, client, get(server.url("/ok?after=1"))).ok());
    CHECK(server.requests().size() == 1);
}

TEST_CASE("HttpClient destroyed with transfers in flight completes them as cancelled", "[net][http]") {
    asio::io_context io;
    FakeHttpServer server;
    server.route("GET", "/hang", FakeResponse{200, {}, "never seen", 5s});
    auto client = std::make_unique<HttpClient>(io.get_executor());
    std::vector<std::shared_ptr<Call>> calls;
    for (int i = 0; i < 3; ++i) calls.push_back(start(io, *client, get(server.url("/hang?n=" + std::to_string(i)))));
    REQUIRE(run_until(io, [&] { return server.requests().size() == 3; }, 5s));

    client.reset();

    REQUIRE(run_until(io, [&] {
        for (const auto& call : calls)
            if (!call->outcome) return false;
        return true;
    }, 2s));
    for (const auto& call : calls) {
        REQUIRE_FALSE(call->outcome->ok());
        CHECK(call->outcome->error().kind == HttpFailure::cancelled);
    }
}

TEST_CASE_METHOD(Fixture, "HttpClient runs 200 slow requests concurrently", "[net][http]") {
    // The server answers each after 100 ms and echoes the target, so mix-ups would show.
    server.route("GET", "/slow", [](const ReceivedRequest& request) {
        return FakeResponse{200, {}, request.target, 100ms};
    });
    constexpr int count = 200;
    std::vector<std::shared_ptr<Call>> calls;
    for (int i = 0; i < count; ++i) calls.push_back(start(io, client, get(server.url("/slow?n=" + std::to_string(i)))));

    REQUIRE(run_until(io, [&] {
        for (const auto& call : calls)
            if (!call->outcome) return false;
        return true;
    }, 30s));

    int succeeded = 0;
    for (int i = 0; i < count; ++i) {
        const auto& outcome = *calls[static_cast<std::size_t>(i)]->outcome;
        if (!outcome.ok()) {
            FAIL_CHECK("request " << i << ": " << outcome.error().message);
            continue;
        }
        if (outcome.response().status == 200 && outcome.response().body == "/slow?n=" + std::to_string(i)) ++succeeded;
    }
    CHECK(succeeded == count);
    CHECK(server.requests().size() == static_cast<std::size_t>(count));
    CHECK(client.in_flight() == 0);
}

TEST_CASE("percent_encode keeps RFC 3986 unreserved characters only", "[net][http]") {
    struct Case {
        std::string in;
        std::string out;
    };
    const auto c = GENERATE(values<Case>({
        {"", ""},
        {"abcXYZ019-._~", "abcXYZ019-._~"},
        {"a b", "a%20b"},
        {"a/b?c=d&e#f", "a%2Fb%3Fc%3Dd%26e%23f"},
        {"100%", "100%25"},
        {"1+1", "1%2B1"},
        {"über", "%C3%BCber"},
        {std::string("nul\0x", 5), "nul%00x"},
        {"\xff", "%FF"},
    }));
    CHECK(percent_encode(c.in) == c.out);
}

TEST_CASE("HttpResponse::header finds the first header of that name", "[net][http]") {
    HttpResponse response;
    response.headers = {{"content-type", "text/plain"}, {"set-cookie", "a=1"}, {"set-cookie", "b=2"}};
    CHECK(response.header("set-cookie") == "a=1");
    CHECK(response.header("Content-Type") == "text/plain");
    CHECK(response.header("missing").empty());
}

TEST_CASE_METHOD(Fixture, "HttpClient errors never show a URL's query, fragment or credentials", "[net][http][security]") {
    // Tokens ride in query strings (`?token=`) and user-info; errors go to chat, `job <id>` and logs.
    const auto url = GENERATE(std::string("http://exa mple.com/hook?token=s3cret"),
                              std::string("ftp://bot:s3cret@127.0.0.1/file?token=s3cret"),
                              std::string("gopher://127.0.0.1/x#s3cret"),
                              std::string("http://bot:s3cret@127.0.0.1:1/hook?token=s3cret"));
    INFO(url);
    auto request = get(url);
    request.connect_timeout = std::chrono::seconds(2);

    auto outcome = send_one(io, client, request);

    REQUIRE_FALSE(outcome.ok());
    CHECK_THAT(outcome.error().message, !Catch::Contains("s3cret"));
    CHECK_THAT(outcome.error().message, Catch::Contains("127.0.0.1") || Catch::Contains("exa mple.com"));
}
