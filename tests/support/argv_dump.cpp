// A child for the process runner tests. It prints exactly what it received, so a test can
// assert it:
//   line 1: argv[1..] as a JSON array
//   line 2: {"cwd": "...", "env": {"NAME": "value", ...}, "pid": 123, "fds": [0, 1, 2], "stdin": "eof",
//            "sigpipe_ignored": false}
//           fds: which of 0..1023 it inherited open; stdin: "eof", "data" or "error" on one read
// then does what these variables ask, in this order:
//   ARGV_DUMP_FORK_SLEEP=ms   fork a grandchild that sleeps ms holding stdout; prints "grandchild <pid>"
//   ARGV_DUMP_LINES=n         print "progress 1".."progress n", ARGV_DUMP_LINE_DELAY_MS (20) apart
//   ARGV_DUMP_SPAM_BYTES=n    write n bytes to stdout, byte i being 'a' + i % 26
//   ARGV_DUMP_STDERR=text     write text to stderr
//   ARGV_DUMP_TAIL=text       write text to stdout without a newline
//   ARGV_DUMP_SLEEP_MS=ms     sleep before exiting
//   ARGV_DUMP_EXIT=code       exit status (0 by default)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

extern char** environ;

namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                    out += escaped;
                } else {
                    out += ch;
                }
        }
    }
    return out + "\"";
}

long number(const char* name, long fallback) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::strtol(value, nullptr, 10) : fallback;
}

void sleep_ms(long ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

int main(int argc, char** argv) {
    std::string line = "[";
    for (int i = 1; i < argc; ++i) line += (i > 1 ? "," : "") + json_string(argv[i]);
    std::printf("%s]\n", line.c_str());

    std::string cwd(4096, '\0');
    if (::getcwd(cwd.data(), cwd.size()) == nullptr) cwd = "?";
    cwd.resize(cwd.find('\0') == std::string::npos ? cwd.size() : cwd.find('\0'));
    std::string env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string item = *entry;
        const auto eq = item.find('=');
        env += (env.empty() ? "" : ",") + json_string(item.substr(0, eq)) + ":" +
               json_string(eq == std::string::npos ? "" : item.substr(eq + 1));
    }
    std::string fds;
    for (int fd = 0; fd < 1024; ++fd)
        if (::fcntl(fd, F_GETFD) != -1) fds += (fds.empty() ? "" : ",") + std::to_string(fd);
    char byte = 0;
    const ssize_t got = ::read(STDIN_FILENO, &byte, 1);
    const char* in = got == 0 ? "eof" : got > 0 ? "data" : "error";
    struct sigaction pipe_action {};
    ::sigaction(SIGPIPE, nullptr, &pipe_action);
    const bool ignores_sigpipe = pipe_action.sa_handler == SIG_IGN;
    std::printf("{\"cwd\":%s,\"env\":{%s},\"pid\":%ld,\"fds\":[%s],\"stdin\":\"%s\",\"sigpipe_ignored\":%s}\n",
                json_string(cwd).c_str(), env.c_str(), static_cast<long>(::getpid()), fds.c_str(), in,
                ignores_sigpipe ? "true" : "false");
    std::fflush(stdout);

    if (const long ms = number("ARGV_DUMP_FORK_SLEEP", 0); ms > 0) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            sleep_ms(ms);
            ::_exit(0);
        }
        std::printf("grandchild %ld\n", static_cast<long>(pid));
        std::fflush(stdout);
    }
    const long lines = number("ARGV_DUMP_LINES", 0);
    const long delay = number("ARGV_DUMP_LINE_DELAY_MS", 20);
    for (long i = 1; i <= lines; ++i) {
        std::printf("progress %ld\n", i);
        std::fflush(stdout);
        sleep_ms(delay);
    }
    if (const long bytes = number("ARGV_DUMP_SPAM_BYTES", 0); bytes > 0) {
        std::string chunk;
        for (long i = 0; i < bytes; ++i) {
            chunk += static_cast<char>('a' + i % 26);
            if (chunk.size() == 65536 || i + 1 == bytes) {
                std::fwrite(chunk.data(), 1, chunk.size(), stdout);
                chunk.clear();
            }
        }
        std::fflush(stdout);
    }
    if (const char* text = std::getenv("ARGV_DUMP_STDERR")) std::fputs(text, stderr);
    if (const char* text = std::getenv("ARGV_DUMP_TAIL")) std::fputs(text, stdout);
    std::fflush(nullptr);
    sleep_ms(number("ARGV_DUMP_SLEEP_MS", 0));
    return static_cast<int>(number("ARGV_DUMP_EXIT", 0));
}
