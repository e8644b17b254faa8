// The bot's own HTTP endpoint under pressure: more connections than it allows, and no
// descriptors left to accept with.
#include <utility>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "bot/common/metrics.hpp"
#include "bot/net/http_server.hpp"
#include "support/run_loop.hpp"

namespace asio = boost::asio;
using platbot::net::HttpServer;
using platbot::net::HttpServerLimits;
using platbot::net::ServerRequest;
using platbot::net::ServerResponse;
using platbot::testing::run_until;
using tcp = asio::ip::tcp;

namespace {

// A raw client connection on its own io_context, so the test can hold it open.
struct RawClient {
    asio::io_context io;
    tcp::socket socket{io};
    RawClient() = default;  // its loop made now; connect() later needs one descriptor only
    explicit RawClient(unsigned short port) { connect(port); }
    void connect(unsigned short port) { socket.connect({asio::ip::make_address("127.0.0.1"), port}); }
    void send_get(const std::string& path) {
        const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        asio::write(socket, asio::buffer(request));
    }
    // Whatever has arrived so far, without waiting.
    std::string available() {
        std::string out;
        boost::system::error_code ec;
        while (socket.available(ec) > 0 && !ec) {
            char buffer[4096];
            const auto n = socket.read_some(asio::buffer(buffer), ec);
            out.append(buffer, n);
        }
        return out;
    }
};

// Uses up the process's descriptors but one, and gives them all back when it goes, whatever
// the test did meanwhile.
class DescriptorsUsedUp {
public:
    DescriptorsUsedUp() {
        ::getrlimit(RLIMIT_NOFILE, &original_);
        rlimit lowered = original_;
        lowered.rlim_cur = 256;
        ::setrlimit(RLIMIT_NOFILE, &lowered);
        const int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) fillers_.push_back(null);
        for (int i = 0; i < 512 && null >= 0; ++i) {
            const int fd = ::dup(null);
            if (fd < 0) break;
            fillers_.push_back(fd);
        }
        if (!fillers_.empty()) {  // one free, for the client's socket
            ::close(fillers_.back());
            fillers_.pop_back();
        }
    }
    ~DescriptorsUsedUp() { give_back(); }
    void give_back() {
        for (const int fd : fillers_) ::close(fd);
        fillers_.clear();
        ::setrlimit(RLIMIT_NOFILE, &original_);
    }
    bool used_up() const { return fillers_.size() > 1; }

private:
    rlimit original_{};
    std::vector<int> fillers_;
};

double sample(const std::string& family) {
    const std::string text = platbot::metrics::exposition();
    const auto at = text.find("\n" + family + " ");
    return at == std::string::npos ? 0 : std::stod(text.substr(at + family.size() + 2));
}

}  // namespace

TEST_CASE("the HTTP endpoint serves at most its cap of connections and takes the next when one closes", "[net][http]") {
    asio::io_context io;
    HttpServer server(io.get_executor(), HttpServerLimits{2});
    server.route("GET", "/ping", [](const ServerRequest&) { return ServerResponse{200, "text/plain", "pong", {}}; });
    const auto port = server.listen("127.0.0.1", 0);
    REQUIRE(port.ok());

    auto first = std::make_unique<RawClient>(*port);
    RawClient second(*port);
    RawClient third(*port);  // connected by the kernel's backlog, not yet accepted
    first->send_get("/ping");
    second.send_get("/ping");
    third.send_get("/ping");
    std::string first_got, second_got, third_got;
    CHECK(run_until(io, [&] {
        first_got += first->available();
        second_got += second.available();
        return first_got.find("pong") != std::string::npos && second_got.find("pong") != std::string::npos;
    }));
    // The third waits while two are open...
    run_until(io, [&] { return !(third_got += third.available()).empty(); }, std::chrono::milliseconds(300));
    CHECK(third_got.empty());
    // ...and is served once one of them goes.
    first.reset();
    CHECK(run_until(io, [&] { return (third_got += third.available()).find("pong") != std::string::npos; }));
}

TEST_CASE("out of descriptors the HTTP endpoint backs off instead of spinning, and accepts again after", "[net][http]") {
    platbot::metrics::reset();
    asio::io_context io;
    HttpServer server(io.get_executor());
    server.route("GET", "/ping", [](const ServerRequest&) { return ServerResponse{200, "text/plain", "pong", {}}; });
    const auto port = server.listen("127.0.0.1", 0);
    REQUIRE(port.ok());

    // Use up the process's descriptors, leaving one for the client's socket: the server's
    // accept then fails with EMFILE while the connection waits in the backlog.
    RawClient client;
    DescriptorsUsedUp descriptors;
    REQUIRE(descriptors.used_up());
    client.connect(*port);
    client.send_get("/ping");

    run_until(io, [] { return false; }, std::chrono::seconds(1));
    const double failed = sample("platbot_http_accept_failures_total");
    CHECK(failed >= 1);
    CHECK(failed <= 20);  // a spinning loop fails thousands of times a second

    descriptors.give_back();
    std::string got;
    CHECK(run_until(io, [&] { return (got += client.available()).find("pong") != std::string::npos; }));
}
