#include "bot/features/status/status_spec.hpp"

namespace platbot::status {

const ServiceSpec* StatusSpec::service(std::string_view id) const {
    for (const auto& service : services)
        if (service.id == id) return &service;
    return nullptr;
}

}  // namespace platbot::status
