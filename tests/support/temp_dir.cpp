#include "support/temp_dir.hpp"

#include <unistd.h>

#include <fstream>
#include <random>
#include <stdexcept>

namespace platbot::testing {

TempDir::TempDir() {
    std::random_device seed;
    for (int attempt = 0; attempt < 10; ++attempt) {
        auto candidate = std::filesystem::temp_directory_path() /
                         ("platbot-test-" + std::to_string(::getpid()) + "-" + std::to_string(seed()));
        if (std::filesystem::create_directory(candidate)) {
            path_ = candidate;
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
    const auto target = path_ / name;
    std::filesystem::create_directories(target.parent_path());
    std::ofstream out(target, std::ios::binary);
    out << content;
    return target.string();
}

}  // namespace platbot::testing
