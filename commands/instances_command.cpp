#include "commands/instances_command.hpp"

#include <vector>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

namespace {

std::string ago(std::chrono::system_clock::duration d) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(d);
    return format_duration(std::max(seconds, std::chrono::seconds(0))) + " ago";
}

}  // namespace

CommandSpec InstancesCommand::spec() const {
    CommandSpec instances;
    instances.name = "instances";
    instances.description = "Show the platbot instances sharing the store and who holds which lease (admins)";
    return instances;
}

chat::Task<chat::Reply> InstancesCommand::run(Invocation, chat::User who, chat::Origin) {
    if (!directory_.in_group(who, admin_group_))
        co_return chat::for_requester("Only admins can see the instances" +
                                      (admin_group_.empty() ? std::string(" (bot.admins is not set)") : " (" + admin_group_ + ")") +
                                      ".");
    const auto now = clock_.now();
    const std::vector<store::InstanceRecord> instances = co_await store_.list_instances();
    const std::vector<store::LeaseRecord> leases = co_await store_.list_leases(now);
    std::string text = "🖥️ Instances (this is " + instance_ + "):";
    for (const auto& instance : instances) {
        const bool alive = now - instance.seen <= lease_;
        text += "\n• " + instance.id + (alive ? " — alive" : " — silent, taken for stopped") + ", started " +
                text::format_utc(instance.started) + ", last seen " + ago(now - instance.seen);
    }
    text += leases.empty() ? "\nNo leases held." : "\nLeases:";
    for (const auto& lease : leases)
        text += "\n• " + lease.name + " — " + lease.holder + " since " + text::format_utc(lease.taken) + ", until " +
                text::format_utc(lease.expires);
    co_return chat::for_requester(std::move(text));
}

}  // namespace platbot::commands
