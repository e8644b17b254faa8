#pragma once
// How the onboarding commands are typed, as the engine binds them:
//   onboarding [pause|resume|restart [track]] | onboarding done|help <track> <step>
//   onboarding report [track] [--stuck 5d]
//   onboard @user [track]
//   tips
#include "commands/spec.hpp"

namespace platbot::onboarding {

commands::CommandSpec onboarding_command_spec();
commands::CommandSpec onboard_command_spec();
commands::CommandSpec tips_command_spec();

}  // namespace platbot::onboarding
