#include "bot/chat/slack/http_delivery.hpp"

#include "bot/chat/slack/signature.hpp"
#include "bot/common/json_field.hpp"
#include "bot/common/text.hpp"

namespace platbot::chat::slack {

using nlohmann::json;

namespace {

const char* signature_refusal(SignatureCheck check) {
    switch (check) {
        case SignatureCheck::valid: return nullptr;
        case SignatureCheck::stale: return "the timestamp is more than 5 minutes off";
        case SignatureCheck::missing: return "the signature headers are missing";
        case SignatureCheck::mismatch: break;
    }
    return "the signature does not match";
}

// The payload as each endpoint carries it: JSON for events, a form for commands, a form
// field holding JSON for interactivity.
void read_payload(Endpoint endpoint, const std::string& body, HttpDelivery& delivery) {
    if (endpoint == Endpoint::events) {
        delivery.payload = parse_outside_json(body);
        if (delivery.payload.is_discarded() || !delivery.payload.is_object()) {
            delivery.answer = json_answer(400, R"({"error":"the body is not a JSON object"})");
            return;
        }
        if (string_field(delivery.payload, "type") == "url_verification") {
            delivery.answer = json_answer(200, json{{"challenge", string_field(delivery.payload, "challenge")}}.dump());
            return;
        }
        delivery.type = "events_api";
        delivery.id = string_field(delivery.payload, "event_id");
        return;
    }
    delivery.payload = json::object();
    for (auto& [name, value] : text::form_fields(body)) delivery.payload[name] = value;
    if (endpoint == Endpoint::interactivity) {
        delivery.payload = parse_outside_json(delivery.payload.value("payload", std::string()));
        if (delivery.payload.is_discarded() || !delivery.payload.is_object()) {
            delivery.answer = json_answer(400, R"({"error":"the payload field is not a JSON object"})");
            return;
        }
        delivery.type = "interactive";
    } else {
        delivery.type = "slash_commands";
    }
    delivery.id = string_field(delivery.payload, "trigger_id");
}

}  // namespace

std::vector<std::pair<std::string, Endpoint>> endpoint_paths(const std::string& path_prefix) {
    return {{path_prefix + "/commands", Endpoint::commands},
            {path_prefix + "/events", Endpoint::events},
            {path_prefix + "/interactivity", Endpoint::interactivity}};
}

net::ServerResponse json_answer(int status, std::string body) { return {status, "application/json", std::move(body), {}}; }

HttpDelivery read_delivery(Endpoint endpoint, const net::ServerRequest& request, std::string_view signing_secret,
                           std::chrono::system_clock::time_point now, bool ready) {
    HttpDelivery delivery;
    const std::string timestamp = request.header("x-slack-request-timestamp");
    const std::string signature = request.header("x-slack-signature");
    if (const char* why = signature_refusal(check_signature(signing_secret, timestamp, request.body, signature, now))) {
        delivery.refused = why;
        delivery.answer = json_answer(401, json{{"error", why}}.dump());
        return delivery;
    }
    if (!ready) {
        delivery.answer = json_answer(503, R"({"error":"not ready"})");
        return delivery;
    }
    read_payload(endpoint, request.body, delivery);
    if (!delivery.answer && delivery.id.empty()) delivery.id = timestamp + ":" + signature;
    return delivery;
}

net::ServerResponse admission_answer(Admission admission) {
    if (admission == Admission::unrecorded) return json_answer(503, R"({"error":"could not record the request; retry"})");
    return {200, "text/plain", "", {}};
}

}  // namespace platbot::chat::slack
