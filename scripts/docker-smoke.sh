#!/usr/bin/env bash
# Builds the image and runs it the way the README does — the shipped config/slack.yaml
# mounted read-only at /etc/platbot, the data on a named volume — against the in-repo fake
# Slack, and checks that it is healthy within 30 s, answers a command, and still has its
# data after `docker restart`.
#
# It rebuilds the whole project inside the image (about half an hour on 2 cores) unless
# PLATBOT_IMAGE names an image that exists, so it is not part of .ci/run: run it whenever the
# Dockerfile or the libraries the binary links change.
#   bash scripts/docker-smoke.sh
# Needs Debian's docker.io (and mmdebstrap where Docker Hub cannot be reached). All traffic
# stays on 127.0.0.1: dockerd is started here, when none runs, with --bridge=none
# --iptables=false, the image is built and run with --network host, and missing debian:12 and
# debian:12-slim bases are made locally (mmdebstrap --variant=minbase bookworm | docker import).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${PLATBOT_IMAGE:-platbot:smoke}
container=platbot-smoke
volume=platbot-smoke-data
build=build-test
health_port=8080  # the image's PLATBOT_HTTP_PORT

script_name=docker-smoke
# shellcheck source=scripts/docker-lib.sh
. scripts/docker-lib.sh

# Whatever this script started or made goes when it ends, passed or failed.
cleanup() {
    docker rm -f "$container" >/dev/null 2>&1 || true
    docker volume rm -f "$volume" >/dev/null 2>&1 || true
    cleanup_docker_lib
}
trap cleanup EXIT

ensure_dockerd
ensure_debian_bases
if ! docker image inspect "$image" >/dev/null 2>&1; then
    say "building $image"
    docker build --network host -t "$image" . >/tmp/platbot-docker-build.log 2>&1 ||
        die "docker build failed: see /tmp/platbot-docker-build.log"
fi

port_free "$health_port" || die "port $health_port on 127.0.0.1 is taken; the container listens there with --network host"
start_fake_slack "$build"
port=$fake_port

docker rm -f "$container" >/dev/null 2>&1 || true
docker volume rm -f "$volume" >/dev/null 2>&1 || true
# The README's `docker run`, with the fake's URL for Slack's and --network host for -p 8080:8080.
docker run -d --name "$container" --network host \
    -v "$PWD/config:/etc/platbot:ro" -v "$volume:/var/lib/platbot" \
    -e SLACK_BOT_TOKEN=xoxb-fake-bot-token -e SLACK_APP_TOKEN=xapp-fake-app-token \
    -e SLACK_API_URL="http://127.0.0.1:$port/api/" \
    "$image" >/dev/null

wait_healthy "$container" "it started"
say "healthy"
[ "$(ask 'connected 30')" = ok ] || die "the bot did not open a Socket Mode connection"
answer=$(ask "command whoami")
[ "$answer" = "reply You are smoke." ] || die "whoami was answered '$answer'"
say "answers: $answer"

docker restart "$container" >/dev/null
wait_healthy "$container" "docker restart"
answer=$(ask "command history")
case "$answer" in
    "reply Your last"*whoami*) say "after the restart: $answer" ;;
    *) die "after the restart, history was answered '$answer' (the store did not survive?)" ;;
esac
docker exec "$container" test -f /var/lib/platbot/slack.db || die "the store is not on the volume"
say "passed"
