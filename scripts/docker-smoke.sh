#!/usr/bin/env bash
# Builds the image and runs it the way the README does — the shipped config/slack.yaml
# mounted read-only at /etc/platbot, the data on a named volume — against the in-repo fake
# Slack, and checks that it is healthy within 30 s, answers a command, and still has its
# data after `docker restart`.
#
# It rebuilds the whole project inside the image (about half an hour on 2 cores), so it is
# not part of .ci/run: run it whenever the Dockerfile or the libraries the binary links change.
#   bash scripts/docker-smoke.sh
# Needs Debian's docker.io (and mmdebstrap where Docker Hub cannot be reached). All traffic
# stays on 127.0.0.1: dockerd is started here, when none runs, with --bridge=none
# --iptables=false, the image is built and run with --network host, and missing debian:12 and
# debian:12-slim bases are made locally (mmdebstrap --variant=minbase bookworm | docker import).
set -euo pipefail
cd "$(dirname "$0")/.."

image=platbot:smoke
container=platbot-smoke
volume=platbot-smoke-data
build=build-test
health_port=8080  # the image's PLATBOT_HTTP_PORT

say() { echo "docker-smoke: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# Whatever this script started or made goes when it ends, passed or failed.
dockerd_pid=""
base_tar=""
fake_pid=""
cleanup() {
    docker rm -f "$container" >/dev/null 2>&1 || true
    docker volume rm -f "$volume" >/dev/null 2>&1 || true
    [ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
    [ -z "$base_tar" ] || rm -f "$base_tar"
    [ -z "$dockerd_pid" ] || kill "$dockerd_pid" 2>/dev/null || true
}
trap cleanup EXIT

command -v docker >/dev/null || die "docker is missing: apt-get install docker.io mmdebstrap"

if ! docker info >/dev/null 2>&1; then
    say "starting dockerd (--bridge=none --iptables=false; log in /tmp/platbot-dockerd.log)"
    nohup dockerd --bridge=none --iptables=false >/tmp/platbot-dockerd.log 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not start: see /tmp/platbot-dockerd.log"
fi

# The bases the Dockerfile names: pulled when Docker Hub answers, otherwise made from Debian's archive.
for base in debian:12 debian:12-slim; do
    docker image inspect "$base" >/dev/null 2>&1 && continue
    if timeout 60 docker pull "$base" >/dev/null 2>&1; then continue; fi
    command -v mmdebstrap >/dev/null || die "cannot pull $base and mmdebstrap is missing: apt-get install mmdebstrap"
    if [ -z "$base_tar" ]; then
        base_tar=$(mktemp --suffix=.tar)
        say "making a Debian 12 minbase image with mmdebstrap"
        mmdebstrap --variant=minbase bookworm "$base_tar" >/dev/null 2>&1 || die "mmdebstrap could not build bookworm"
    fi
    docker import "$base_tar" "$base" >/dev/null
done
say "building the fake Slack (tests/support/fake_slack_cli.cpp)"
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLATBOT_TESTS=ON >/dev/null
cmake --build "$build" --target fake_slack_cli -j "$(nproc)" >/dev/null

say "building $image"
docker build --network host -t "$image" . >/tmp/platbot-docker-build.log 2>&1 ||
    die "docker build failed: see /tmp/platbot-docker-build.log"

if (exec 3<>"/dev/tcp/127.0.0.1/$health_port") 2>/dev/null; then
    die "port $health_port on 127.0.0.1 is taken; the container listens there with --network host"
fi

coproc FAKE { exec "$build/tests/fake_slack_cli"; }
fake_pid=$FAKE_PID
read -r -t 10 first <&"${FAKE[0]}" || die "the fake Slack did not start"
port=${first#port }
# One request to the fake, one line back (see fake_slack_cli.cpp).
ask() {
    echo "$1" >&"${FAKE[1]}"
    local answer
    read -r -t 90 answer <&"${FAKE[0]}" || answer="no answer"
    echo "$answer"
}

wait_healthy() {
    local status=""
    for _ in $(seq 30); do
        status=$(docker inspect -f '{{.State.Health.Status}}' "$container" 2>/dev/null || echo gone)
        [ "$status" = healthy ] && return 0
        sleep 1
    done
    docker logs --tail 20 "$container" >&2 || true
    die "the container is $status, not healthy, 30 s after $1"
}

docker rm -f "$container" >/dev/null 2>&1 || true
docker volume rm -f "$volume" >/dev/null 2>&1 || true
# The README's `docker run`, with the fake's URL for Slack's and --network host for -p 8080:8080.
docker run -d --name "$container" --network host \
    -v "$PWD/config:/etc/platbot:ro" -v "$volume:/var/lib/platbot" \
    -e SLACK_BOT_TOKEN=xoxb-fake-bot-token -e SLACK_APP_TOKEN=xapp-fake-app-token \
    -e SLACK_API_URL="http://127.0.0.1:$port/api/" \
    "$image" >/dev/null

wait_healthy "it started"
say "healthy"
[ "$(ask 'connected 30')" = ok ] || die "the bot did not open a Socket Mode connection"
answer=$(ask "command whoami")
[ "$answer" = "reply You are smoke." ] || die "whoami was answered '$answer'"
say "answers: $answer"

docker restart "$container" >/dev/null
wait_healthy "docker restart"
answer=$(ask "command history")
case "$answer" in
    "reply Your last"*whoami*) say "after the restart: $answer" ;;
    *) die "after the restart, history was answered '$answer' (the store did not survive?)" ;;
esac
docker exec "$container" test -f /var/lib/platbot/slack.db || die "the store is not on the volume"
say "passed"
