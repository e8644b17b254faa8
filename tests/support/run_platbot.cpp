#include "support/run_platbot.hpp"

#include <boost/process.hpp>
#include <fstream>
#include <sstream>

#include "support/temp_dir.hpp"

namespace platbot::testing {

namespace bp = boost::process;

std::string source_path(const std::string& relative) { return std::string(PLATBOT_SOURCE_DIR) + "/" + relative; }

ProcessResult run_platbot(const std::vector<std::string>& args, const std::string& stdin_text,
                          const std::map<std::string, std::string>& env, std::chrono::seconds timeout) {
    // stdin and the outputs go through files, so a large input or output can never
    // deadlock the test on a full pipe.
    TempDir io;
    const std::string in = io.write("stdin.txt", stdin_text);
    const std::string out = io.file("stdout.txt");
    const std::string err = io.file("stderr.txt");

    bp::environment environment = boost::this_process::environment();
    // Tests run in parallel: the demo's own HTTP endpoint takes any free port unless a
    // test asks for a particular one.
    // set(), not operator[]: Boost 1.74's environment lookup reads past the end of
    // entries shorter than the name (AddressSanitizer reports it).
    environment.set("PLATBOT_HTTP_PORT", "0");
    for (const auto& [name, value] : env) environment.set(name, value);

    ProcessResult result;
    bp::child child(std::string(PLATBOT_BINARY), bp::args(args), bp::std_in < in, bp::std_out > out,
                    bp::std_err > err, environment);
    if (!child.wait_for(timeout)) {
        result.timed_out = true;
        child.terminate();
    } else {
        result.exit_code = child.exit_code();
    }
    const auto slurp = [](const std::string& path) {
        std::ifstream file(path, std::ios::binary);
        std::stringstream content;
        content << file.rdbuf();
        return content.str();
    };
    result.out = slurp(out);
    result.err = slurp(err);
    return result;
}

}  // namespace platbot::testing
