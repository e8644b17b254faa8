#!/usr/bin/env bash
# Brings up docker-compose.yml — PostgreSQL and two platbot instances, alpha and beta — against
# the in-repo fake Slack, and checks what the README promises of several instances: both
# healthy and connected, a command answered once, alpha stopped, the next command still
# answered (by beta), and alpha back after a start.
#
# It builds the platbot image (about half an hour on 2 cores) unless PLATBOT_IMAGE names one
# that exists, so it is not part of .ci/run: run it when the compose file, the Dockerfile or
# the store change.
#   bash scripts/compose-smoke.sh
# Needs Debian's docker.io and docker-compose (or Docker's compose plugin), and mmdebstrap
# where Docker Hub cannot be reached: then debian:12 bases are made locally and PostgreSQL is
# docker/postgres (Debian's postgresql-15) instead of the official postgres:15-bookworm. All
# traffic stays on 127.0.0.1: the services use the host's network (docker-compose.host.yml).
set -euo pipefail
cd "$(dirname "$0")/.."

script_name=compose-smoke
# shellcheck source=scripts/docker-lib.sh
. scripts/docker-lib.sh

build=build-test
project=platbot-smoke
export PLATBOT_IMAGE=${PLATBOT_IMAGE:-platbot:compose-smoke}
export PLATBOT_DB_PORT=55432 PLATBOT_ALPHA_PORT=18080 PLATBOT_BETA_PORT=18081
export PGPASSWORD="smoke-$RANDOM$RANDOM"
export SLACK_BOT_TOKEN=xoxb-fake-bot-token SLACK_APP_TOKEN=xapp-fake-app-token

if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
command -v "${compose[0]}" >/dev/null || die "docker-compose is missing: apt-get install docker-compose"
compose+=(-p "$project" -f docker-compose.yml -f docker-compose.host.yml)

cleanup() {
    "${compose[@]}" down -v >/dev/null 2>&1 || true
    cleanup_docker_lib
}
trap cleanup EXIT

ensure_dockerd
ensure_debian_bases
if ! docker image inspect "$PLATBOT_IMAGE" >/dev/null 2>&1; then
    say "building $PLATBOT_IMAGE"
    docker build --network host -t "$PLATBOT_IMAGE" . >/tmp/platbot-docker-build.log 2>&1 ||
        die "docker build failed: see /tmp/platbot-docker-build.log"
fi
export PLATBOT_POSTGRES_IMAGE=postgres:15-bookworm
if ! docker image inspect "$PLATBOT_POSTGRES_IMAGE" >/dev/null 2>&1 &&
    ! timeout 60 docker pull "$PLATBOT_POSTGRES_IMAGE" >/dev/null 2>&1; then
    PLATBOT_POSTGRES_IMAGE=platbot-postgres:15
    say "Docker Hub is out of reach: building $PLATBOT_POSTGRES_IMAGE from Debian's postgresql-15 (docker/postgres)"
    docker build --network host -t "$PLATBOT_POSTGRES_IMAGE" docker/postgres >/tmp/platbot-postgres-build.log 2>&1 ||
        die "the PostgreSQL image did not build: see /tmp/platbot-postgres-build.log"
fi

for port in "$PLATBOT_DB_PORT" "$PLATBOT_ALPHA_PORT" "$PLATBOT_BETA_PORT"; do
    port_free "$port" || die "port $port on 127.0.0.1 is taken; the services listen there on the host's network"
done
start_fake_slack "$build"
export SLACK_API_URL="http://127.0.0.1:$fake_port/api/"

"${compose[@]}" down -v >/dev/null 2>&1 || true
"${compose[@]}" up -d >/tmp/platbot-compose-up.log 2>&1 || die "compose up failed: see /tmp/platbot-compose-up.log"
alpha=$("${compose[@]}" ps -q alpha)
beta=$("${compose[@]}" ps -q beta)
wait_healthy "$alpha" "compose up"
wait_healthy "$beta" "compose up"
say "alpha and beta are healthy"
[ "$(ask 'connected 60 4')" = ok ] || die "alpha and beta did not open their four Socket Mode connections"

# Once: Slack sends each command to one connection, and whichever instance holds it answers.
count_messages() { local line; line=$(ask messages); echo "${line#messages }"; }
before=$(count_messages)
answer=$(ask "command whoami")
[ "$answer" = "reply You are smoke." ] || die "whoami was answered '$answer'"
sleep 3  # room for a wrong second answer
[ "$(count_messages)" = $((before + 1)) ] || die "whoami was answered more than once"
say "answered once: $answer"
for instance in alpha beta; do
    docker logs "$("${compose[@]}" ps -q "$instance")" 2>&1 | grep -q "@$instance" ||
        die "$instance's log lines do not name it"
done

"${compose[@]}" stop alpha >/dev/null 2>&1 || die "alpha did not stop"
say "alpha stopped"
for round in 1 2 3; do  # each lands on one of beta's connections: none is left to alpha
    answer=$(ask "command docs deploy")
    case "$answer" in
        "reply 📚 The deploy guide"*) ;;
        *) die "with alpha stopped, command $round was answered '$answer'" ;;
    esac
done
say "beta answers alone: $answer"

"${compose[@]}" start alpha >/dev/null 2>&1 || die "alpha did not start again"
wait_healthy "$alpha" "compose start"
[ "$(ask 'connected 60 4')" = ok ] || die "alpha did not connect again"
answer=$(ask "command history")
case "$answer" in
    "reply Your last"*whoami*) say "history, kept in PostgreSQL: $answer" ;;
    *) die "history was answered '$answer' (the store is not shared?)" ;;
esac
say "passed"
