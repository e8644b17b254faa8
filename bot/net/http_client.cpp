#include "bot/net/http_client.hpp"

#include "bot/common/text.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace platbot::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// curl_global_init is not thread-safe and must run before any other curl call.
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            throw std::runtime_error("libcurl could not be initialised (curl_global_init failed)");
    });
}

// RFC 9110 token characters: what a method or a header name may contain.
bool is_token(std::string_view text) {
    if (text.empty()) return false;
    for (const char c : text) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && std::strchr("!#$%&'*+-.^_`|~", c) == nullptr) return false;
    }
    return true;
}

// Messages are one line even when curl's error buffer is not.
std::string one_line(std::string_view message) {
    std::string out(text::trim(message));
    for (auto& c : out)
        if (c == '\r' || c == '\n') c = ' ';
    return out;
}

std::string describe(std::chrono::milliseconds duration) {
    const auto ms = duration.count();
    if (ms > 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

// A URL as messages may show it: credentials, query and fragment often carry tokens
// (webhook keys, `?token=`), so they are cut, even from a URL that does not parse.
std::string url_for_messages(std::string_view url) {
    std::string shown(url.substr(0, url.find_first_of("?#")));
    if (shown.size() < url.size()) shown += "?…";
    const auto authority = shown.find("://");
    const auto from = authority == std::string::npos ? 0 : authority + 3;
    const auto path = shown.find('/', from);
    const auto at = shown.rfind('@', path == std::string::npos ? std::string::npos : path);
    if (at != std::string::npos && at >= from) shown.erase(from, at + 1 - from);
    return shown;
}

// "host:port" of a URL for messages, or why the URL is unusable.
Result<std::string> host_and_port(const std::string& url) {
    CURLU* parsed = curl_url();
    if (parsed == nullptr) return fail("out of memory parsing URL '" + url + "'");
    std::string out;
    std::optional<std::string> problem;
    if (const CURLUcode rc = curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) {
        problem = "invalid URL '" + url_for_messages(url) + "': " + curl_url_strerror(rc);
    } else {
        char* scheme = nullptr;
        char* host = nullptr;
        char* port = nullptr;
        curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0);
        curl_url_get(parsed, CURLUPART_HOST, &host, 0);
        curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
        const std::string scheme_text = scheme ? text::to_lower(scheme) : "";
        if (scheme_text != "http" && scheme_text != "https")
            problem = "unsupported URL scheme '" + scheme_text + "' in '" + url_for_messages(url) + "' (use http or https)";
        else
            out = std::string(host ? host : "") + ":" + (port ? port : "");
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
    }
    curl_url_cleanup(parsed);
    if (problem) return fail(one_line(*problem));
    return out;
}

std::optional<HttpError> check_request(const HttpRequest& request, const std::string& where) {
    auto bad = [&](const std::string& what) {
        return HttpError{HttpFailure::bad_request, one_line("request to " + where + " not sent: " + what)};
    };
    if (!is_token(request.method)) return bad("invalid HTTP method '" + one_line(request.method) + "'");
    for (const auto& [name, value] : request.headers) {
        if (name.find_first_of("\r\n") != std::string::npos)
            return bad("header name '" + one_line(name) + "' contains CR or LF");
        if (!is_token(name)) return bad("invalid header name '" + name + "'");
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            return bad("header '" + name + "' has CR, LF or NUL in its value");
    }
    return std::nullopt;
}

bool is_tls_error(CURLcode code) {
    switch (code) {
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_USE_SSL_FAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CLIENTCERT:
            return true;
        default:
            return false;
    }
}

// The awaiting coroutine's completion handler, type-erased so a transfer can hold it.
struct Completion {
    virtual ~Completion() = default;
    virtual void complete(HttpOutcome outcome) = 0;
};

template <class Handler>
class HandlerCompletion final : public Completion {
public:
    HandlerCompletion(Handler handler, const asio::any_io_executor& fallback)
        : handler_(std::move(handler)),
          // Tracked: the caller's io_context keeps running while the transfer is in flight.
          work_(asio::prefer(asio::get_associated_executor(handler_, fallback),
                             asio::execution::outstanding_work.tracked)) {}

    // Always posted, never run inline: the coroutine must not resume inside curl's callbacks.
    void complete(HttpOutcome outcome) override {
        auto executor = std::move(work_);
        asio::post(executor, [handler = std::move(handler_), outcome = std::move(outcome)]() mutable {
            std::move(handler)(std::move(outcome));
        });
    }

private:
    Handler handler_;
    asio::any_io_executor work_;
};

struct Transfer {
    Transfer() = default;
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;
    ~Transfer() {
        if (easy != nullptr) curl_easy_cleanup(easy);
        curl_slist_free_all(header_list);
    }

    std::uint64_t id = 0;
    CURL* easy = nullptr;
    curl_slist* header_list = nullptr;
    HttpRequest request;
    std::string where;  // host:port, for messages
    HttpResponse response;
    Clock::time_point started;
    char error[CURL_ERROR_SIZE] = {};
    CancelToken::Guard cancel_guard;
    std::unique_ptr<Completion> completion;
};

size_t on_body(char* data, size_t size, size_t count, void* userp) {
    auto* transfer = static_cast<Transfer*>(userp);
    const std::size_t length = size * count;
    auto& body = transfer->response.body;
    const std::size_t cap = transfer->request.max_response_bytes;
    const std::size_t room = body.size() < cap ? cap - body.size() : 0;
    if (length > room) transfer->response.truncated = true;
    body.append(data, std::min(length, room));
    // Returning less than `length` would abort the transfer; a cut body is still a response.
    return length;
}

size_t on_header(char* data, size_t size, size_t count, void* userp) {
    auto* transfer = static_cast<Transfer*>(userp);
    const std::size_t length = size * count;
    std::string_view line(data, length);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    auto& headers = transfer->response.headers;
    if (line.rfind("HTTP/", 0) == 0) {
        headers.clear();  // a new response (after a redirect or a 100 Continue) replaces the last
    } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
        if (!headers.empty()) headers.back().second += " " + std::string(text::trim(line));  // obsolete folding
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
        headers.emplace_back(text::to_lower(text::trim(line.substr(0, colon))), std::string(text::trim(line.substr(colon + 1))));
    }
    return length;
}

// One watched curl socket. The descriptor wraps curl's fd without owning it: curl opens
// and closes its sockets, and tells us CURL_POLL_REMOVE before closing one; then (or at
// shutdown) `forget` deregisters the fd from the reactor and release()s it, aborting the
// pending waits, so the descriptor's destructor never closes curl's fd.
struct Watch {
    Watch(const asio::any_io_executor& executor, curl_socket_t socket) : fd(socket), descriptor(executor) {}
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch() { forget(); }

    void forget() {
        removed = true;
        if (descriptor.is_open()) descriptor.release();
    }

    curl_socket_t fd;
    asio::posix::stream_descriptor descriptor;
    int wanted = 0;  // CURL_POLL_IN / OUT / INOUT, as curl last asked
    bool reading = false;
    bool writing = false;
    bool removed = false;
};

}  // namespace

// The curl multi handle and everything its callbacks touch. Asio handlers hold it weakly,
// so a wait completing after the client is gone does nothing. Single-threaded: every call
// happens on the executor's one thread.
class CurlMulti : public std::enable_shared_from_this<CurlMulti> {
public:
    explicit CurlMulti(asio::any_io_executor executor) : executor_(std::move(executor)), timer_(executor_) {
        init_curl_once();
        multi_ = curl_multi_init();
        if (multi_ == nullptr) throw std::runtime_error("libcurl could not create a multi handle");
        curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::socket_callback);
        curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
        curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::timer_callback);
        curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
        no_proxy_ = "127.0.0.1,localhost,::1";
        for (const char* name : {"no_proxy", "NO_PROXY"}) {
            if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
                no_proxy_ += std::string(",") + value;
                break;
            }
        }
    }

    CurlMulti(const CurlMulti&) = delete;
    CurlMulti& operator=(const CurlMulti&) = delete;
    ~CurlMulti() { shutdown(); }

    const asio::any_io_executor& executor() const { return executor_; }
    std::size_t in_flight() const { return transfers_.size(); }

    void start(std::unique_ptr<Transfer> transfer, const CancelToken& cancel) {
        transfer->started = Clock::now();
        std::optional<HttpError> refused;
        if (closed_) refused = cancelled(*transfer, "the HTTP client was shut down");
        else if (cancel.cancelled()) refused = cancelled(*transfer, "cancelled before it started");
        else refused = configure(*transfer);
        if (refused) return complete(std::move(transfer), std::move(*refused));

        CURL* easy = transfer->easy;
        const std::uint64_t id = transfer->id = ++last_id_;
        Transfer* raw = transfer.get();
        transfers_.emplace(easy, std::move(transfer));
        const CURLMcode added = call_curl([&] { return curl_multi_add_handle(multi_, easy); });
        if (added != CURLM_OK) {
            HttpError error{HttpFailure::other,
                            one_line("could not start the request to " + raw->where + ": " + curl_multi_strerror(added))};
            auto node = transfers_.extract(easy);
            return complete(std::move(node.mapped()), std::move(error));
        }
        auto guard = cancel.on_cancel([self = weak_from_this(), easy, id] {
            if (auto core = self.lock()) core->cancel_transfer(easy, id);
        });
        // Looked up again rather than through `raw`: the action may already have run.
        if (auto it = transfers_.find(easy); it != transfers_.end() && it->second->id == id)
            it->second->cancel_guard = std::move(guard);
    }

    // Completes every transfer still in flight as cancelled and lets go of curl.
    void shutdown() {
        if (closed_) return;
        closed_ = true;
        while (!transfers_.empty()) {
            CURL* easy = transfers_.begin()->first;
            finish(easy, cancelled(*transfers_.begin()->second, "the HTTP client was shut down"));
        }
        // curl closes its cached connections in curl_multi_cleanup; drop our views of its
        // fds first and make sure no callback reaches this object any more.
        for (auto& [fd, watch] : watches_) watch->forget();
        watches_.clear();
        curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, nullptr);
        curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, nullptr);
        curl_multi_cleanup(multi_);
        multi_ = nullptr;
        timer_.cancel();
    }

private:
    static int socket_callback(CURL*, curl_socket_t fd, int what, void* userp, void*) {
        try {
            return static_cast<CurlMulti*>(userp)->on_socket(fd, what);
        } catch (...) {
            return -1;  // no exception may cross curl's C frames
        }
    }

    static int timer_callback(CURLM*, long timeout_ms, void* userp) {
        try {
            return static_cast<CurlMulti*>(userp)->on_timer(timeout_ms);
        } catch (...) {
            return -1;
        }
    }

    int on_socket(curl_socket_t fd, int what) {
        if (what == CURL_POLL_REMOVE) {
            if (auto it = watches_.find(fd); it != watches_.end()) {
                it->second->forget();
                watches_.erase(it);
            }
            return 0;
        }
        auto it = watches_.find(fd);
        if (it == watches_.end()) {
            auto watch = std::make_shared<Watch>(executor_, fd);
            boost::system::error_code ec;
            watch->descriptor.assign(fd, ec);
            if (ec) return -1;
            it = watches_.emplace(fd, std::move(watch)).first;
        }
        it->second->wanted = what;
        arm(it->second);
        return 0;
    }

    // Starts the waits curl wants that are not already pending. A wait for a direction curl
    // no longer wants is left to complete and then dropped (see on_ready).
    void arm(const std::shared_ptr<Watch>& watch) {
        if ((watch->wanted & CURL_POLL_IN) && !watch->reading) {
            watch->reading = true;
            watch->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                         [self = weak_from_this(), watch](const boost::system::error_code& ec) {
                                             watch->reading = false;
                                             if (auto core = self.lock()) core->on_ready(watch, ec, CURL_CSELECT_IN);
                                         });
        }
        if ((watch->wanted & CURL_POLL_OUT) && !watch->writing) {
            watch->writing = true;
            watch->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                         [self = weak_from_this(), watch](const boost::system::error_code& ec) {
                                             watch->writing = false;
                                             if (auto core = self.lock()) core->on_ready(watch, ec, CURL_CSELECT_OUT);
                                         });
        }
    }

    void on_ready(const std::shared_ptr<Watch>& watch, const boost::system::error_code& ec, int direction) {
        if (closed_ || watch->removed || ec == asio::error::operation_aborted) return;
        const int poll = direction == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT;
        if (!(watch->wanted & poll)) return;
        drive(watch->fd, ec ? CURL_CSELECT_ERR : direction);
        // Waits are one-shot: re-arm while curl still watches this socket. After an error
        // curl has been told and will fail the transfer; re-arming could spin.
        if (!ec && !watch->removed && !closed_) arm(watch);
    }

    // curl moves its deadline on nearly every call (each added transfer asks for 0 ms), and
    // each move of an Asio timer is a timerfd syscall. So a pending wait that fires no later
    // than curl's new deadline is kept: firing early only makes curl tell us the deadline
    // again. A removed deadline (-1) likewise just lets the pending wait fire once.
    int on_timer(long timeout_ms) {
        if (timeout_ms < 0) return 0;
        const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
        if (timer_armed_ && timer_deadline_ <= deadline) return 0;
        // curl must not be re-entered from its own callback, so even 0 goes through the timer.
        timer_armed_ = true;
        timer_deadline_ = deadline;
        timer_.expires_at(deadline);
        timer_.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
            if (ec == asio::error::operation_aborted) return;
            auto core = self.lock();
            if (!core) return;
            core->timer_armed_ = false;
            if (!core->closed_) core->drive(CURL_SOCKET_TIMEOUT, 0);
        });
        return 0;
    }

    template <class Call>
    auto call_curl(Call call) -> decltype(call()) {
        ++in_curl_;
        auto result = call();
        --in_curl_;
        return result;
    }

    void drive(curl_socket_t fd, int flags) {
        int running = 0;
        call_curl([&] { return curl_multi_socket_action(multi_, fd, flags, &running); });
        int left = 0;
        while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL* easy = message->easy_handle;
            const CURLcode result = message->data.result;  // `message` dies with the handle
            if (auto it = transfers_.find(easy); it != transfers_.end()) finish(easy, outcome(*it->second, result));
        }
    }

    void cancel_transfer(CURL* easy, std::uint64_t id) {
        if (in_curl_ > 0) {  // never remove a handle from inside curl; do it next
            asio::post(executor_, [self = weak_from_this(), easy, id] {
                if (auto core = self.lock()) core->cancel_transfer(easy, id);
            });
            return;
        }
        auto it = transfers_.find(easy);
        if (it == transfers_.end() || it->second->id != id) return;
        finish(easy, cancelled(*it->second, "cancelled"));
    }

    void finish(CURL* easy, HttpOutcome result) {
        auto node = transfers_.extract(easy);
        if (node.empty()) return;
        if (multi_ != nullptr) call_curl([&] { return curl_multi_remove_handle(multi_, easy); });
        complete(std::move(node.mapped()), std::move(result));
    }

    static void complete(std::unique_ptr<Transfer> transfer, HttpOutcome result) {
        transfer->cancel_guard.reset();
        auto completion = std::move(transfer->completion);
        transfer.reset();  // curl_easy_cleanup before the caller resumes
        completion->complete(std::move(result));
    }

    static HttpError cancelled(const Transfer& transfer, const std::string& why) {
        return HttpError{HttpFailure::cancelled,
                         one_line(transfer.request.method + " request to " + transfer.where + " " + why)};
    }

    HttpOutcome outcome(Transfer& transfer, CURLcode result) {
        CURL* easy = transfer.easy;
        std::string detail = transfer.error[0] != '\0' ? transfer.error : curl_easy_strerror(result);
        if (const auto at = detail.find(transfer.request.url); at != std::string::npos && !transfer.request.url.empty())
            detail.replace(at, transfer.request.url.size(), url_for_messages(transfer.request.url));
        const auto& where = transfer.where;
        switch (result) {
            case CURLE_OK: {
                auto& response = transfer.response;
                curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
                char* url = nullptr;
                if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url != nullptr)
                    response.effective_url = url;
                response.elapsed =
                    std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - transfer.started);
                return std::move(response);
            }
            case CURLE_OPERATION_TIMEDOUT: {
                curl_off_t connected_after = 0;
                curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected_after);
                const auto& request = transfer.request;
                if (connected_after == 0 && request.connect_timeout < request.timeout)
                    return HttpError{HttpFailure::timeout,
                                     "timed out after " + describe(request.connect_timeout) + " connecting to " + where};
                return HttpError{HttpFailure::timeout, "timed out after " + describe(request.timeout) + " calling " + where};
            }
            case CURLE_COULDNT_CONNECT: {
                long os_error = 0;
                curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_error);
                const std::string reason = os_error != 0 ? text::to_lower(std::strerror(static_cast<int>(os_error))) : detail;
                return HttpError{HttpFailure::connect, one_line("could not connect to " + where + " (" + reason + ")")};
            }
            case CURLE_COULDNT_RESOLVE_HOST:
                return HttpError{HttpFailure::connect,
                                 one_line("could not resolve the host of " + where + " (" + detail + ")")};
            default:
                if (is_tls_error(result))
                    return HttpError{HttpFailure::tls, one_line("TLS failure calling " + where + ": " + detail)};
                return HttpError{HttpFailure::other, one_line("request to " + where + " failed: " + detail)};
        }
    }

    // Builds the easy handle for one request; nothing is sent until it joins the multi.
    std::optional<HttpError> configure(Transfer& transfer) {
        CURL* easy = transfer.easy = curl_easy_init();
        if (easy == nullptr) return HttpError{HttpFailure::other, "could not create a curl handle for " + transfer.where};
        const HttpRequest& request = transfer.request;
        CURLcode failed = CURLE_OK;
        auto check = [&](CURLcode code) {
            if (failed == CURLE_OK) failed = code;
        };

        check(curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str()));
        check(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error));
        check(curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85 replaced the bitmask options with strings
        check(curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https"));
        check(curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
#else
        check(curl_easy_setopt(easy, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
        check(curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
#endif
        // Loopback never goes through a proxy from the environment (tests, local sidecars).
        check(curl_easy_setopt(easy, CURLOPT_NOPROXY, no_proxy_.c_str()));
        check(curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count())));
        check(curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count())));
        check(curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L));
        if (request.follow_redirects) check(curl_easy_setopt(easy, CURLOPT_MAXREDIRS, request.max_redirects));
        check(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L));
        check(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L));
        if (!request.ca_bundle.empty()) check(curl_easy_setopt(easy, CURLOPT_CAINFO, request.ca_bundle.c_str()));
        if (!request.basic_user.empty()) {
            check(curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC)));
            check(curl_easy_setopt(easy, CURLOPT_USERNAME, request.basic_user.c_str()));
            check(curl_easy_setopt(easy, CURLOPT_PASSWORD, request.basic_password.c_str()));
        }
        check(curl_easy_setopt(easy, CURLOPT_USERAGENT, "platbot"));
        check(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body));
        check(curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer));
        check(curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header));
        check(curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer));

        const std::string& method = request.method;
        bool sends_body = false;
        if (method == "HEAD") {
            check(curl_easy_setopt(easy, CURLOPT_NOBODY, 1L));
        } else if (method == "GET" && request.body.empty()) {
            check(curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L));
        } else {
            if (method == "POST" || !request.body.empty()) {
                sends_body = true;
                // The request outlives the transfer, so curl may point into its body.
                check(curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size())));
                check(curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data()));
            }
            if (method != "POST") check(curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str()));
        }

        bool has_content_type = false;
        bool has_expect = false;
        auto add_header = [&](const std::string& line) {
            curl_slist* grown = curl_slist_append(transfer.header_list, line.c_str());
            if (grown == nullptr) check(CURLE_OUT_OF_MEMORY);
            else transfer.header_list = grown;
        };
        for (const auto& [name, value] : request.headers) {
            has_content_type = has_content_type || text::iequals(name, "content-type");
            has_expect = has_expect || text::iequals(name, "expect");
            add_header(value.empty() ? name + ";" : name + ": " + value);  // "Name;" is curl for an empty value
        }
        // A body goes out as is: no form Content-Type guessed by curl, no "Expect: 100-continue"
        // round trip (curl waits up to a second for servers that ignore it).
        if (sends_body && !has_content_type) add_header("Content-Type:");
        if (!has_expect) add_header("Expect:");
        check(curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.header_list));

        if (failed != CURLE_OK)
            return HttpError{HttpFailure::bad_request,
                             one_line("could not set up the request to " + transfer.where + ": " + curl_easy_strerror(failed))};
        return std::nullopt;
    }

    asio::any_io_executor executor_;
    asio::steady_timer timer_;
    bool timer_armed_ = false;
    Clock::time_point timer_deadline_;
    CURLM* multi_ = nullptr;
    std::string no_proxy_;
    std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers_;
    std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches_;
    std::uint64_t last_id_ = 0;
    int in_curl_ = 0;
    bool closed_ = false;
};

// libcurl 7.88 walks a multi handle's whole connection cache for every transfer it
// starts and removes, so one multi handle costs O(N²) with N transfers in flight
// (BENCHMARKS.md). Transfers are spread over several multi handles of bounded size.
constexpr std::size_t transfers_per_multi = 256;

struct HttpClient::Impl {
    asio::any_io_executor executor;
    std::vector<std::shared_ptr<CurlMulti>> shards;

    // The least busy multi handle with room, or a new one when all are full.
    CurlMulti& pick() {
        CurlMulti* best = nullptr;
        for (auto& shard : shards)
            if (!best || shard->in_flight() < best->in_flight()) best = shard.get();
        if (best && best->in_flight() < transfers_per_multi) return *best;
        shards.push_back(std::make_shared<CurlMulti>(executor));
        return *shards.back();
    }
};

HttpClient::HttpClient(asio::any_io_executor executor) : impl_(std::make_unique<Impl>(Impl{std::move(executor), {}})) {
    impl_->shards.push_back(std::make_shared<CurlMulti>(impl_->executor));
}

HttpClient::~HttpClient() {
    for (auto& shard : impl_->shards) shard->shutdown();
}

std::size_t HttpClient::in_flight() const {
    std::size_t total = 0;
    for (const auto& shard : impl_->shards) total += shard->in_flight();
    return total;
}

asio::awaitable<HttpOutcome> HttpClient::send(HttpRequest request, CancelToken cancel) {
    auto where = host_and_port(request.url);
    if (!where) co_return HttpError{HttpFailure::bad_request, where.error().message};
    if (auto problem = check_request(request, *where)) co_return std::move(*problem);

    auto transfer = std::make_unique<Transfer>();
    transfer->request = std::move(request);
    transfer->where = std::move(*where);
    CurlMulti& core = impl_->pick();
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(HttpOutcome)>(
        [&](auto handler) {
            using Handler = decltype(handler);
            transfer->completion = std::make_unique<HandlerCompletion<Handler>>(std::move(handler), core.executor());
            core.start(std::move(transfer), cancel);
        },
        asio::use_awaitable);
}

std::string HttpResponse::header(std::string_view name) const {
    for (const auto& [key, value] : headers)
        if (text::iequals(key, name)) return value;
    return {};
}

}  // namespace platbot::net
