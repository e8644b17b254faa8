#!/usr/bin/env bash
# Installs the Debian 12 packages platbot needs, and only those that are missing.
# Safe to run any number of times; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  g++ cmake make pkg-config   # the toolchain
  libboost-dev                # Asio (event loop, coroutines), Beast, Process (header-only)
  libboost-system-dev libboost-filesystem-dev  # compiled parts Boost.Process links against
  libcurl4-openssl-dev        # outbound HTTP for platform actions and chat APIs
  libssl-dev                  # TLS for WebSockets and HTTPS
  nlohmann-json3-dev          # JSON payloads and audit arguments
  libspdlog-dev               # logging
  libyaml-cpp-dev             # the config file
  libsqlite3-dev              # the embedded store
  libpq-dev                   # PostgreSQL's client library: the store for several instances
  postgresql-15               # a real PostgreSQL for the tests (started by them, in a temp folder)
  libhowardhinnant-date-dev   # time zones (the system tzdata) for survey schedules
  catch2                      # the test framework (2.13)
  faketime                    # the suite's second run, with the clock a year ahead
  git                         # the demo's new-service action commits the scaffolded repository
  librsvg2-bin                # rsvg-convert draws the survey chart as PNG (export --format png)
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
