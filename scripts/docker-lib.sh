# Sourced by scripts/docker-smoke.sh and scripts/compose-smoke.sh: what both need to run Docker
# on a machine that reaches nothing but Debian's archive, and to talk to the in-repo fake
# Slack. All traffic stays on 127.0.0.1.

say() { echo "$script_name: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# Set by what follows; the caller's cleanup undoes them (cleanup_docker_lib).
dockerd_pid=""
base_tar=""
fake_pid=""

cleanup_docker_lib() {
    [ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
    [ -z "$base_tar" ] || rm -f "$base_tar"
    [ -z "$dockerd_pid" ] || kill "$dockerd_pid" 2>/dev/null || true
}

# dockerd, started here when none runs, with --bridge=none --iptables=false (containers then
# use --network host).
ensure_dockerd() {
    command -v docker >/dev/null || die "docker is missing: apt-get install docker.io mmdebstrap"
    docker info >/dev/null 2>&1 && return 0
    say "starting dockerd (--bridge=none --iptables=false; log in /tmp/platbot-dockerd.log)"
    nohup dockerd --bridge=none --iptables=false >/tmp/platbot-dockerd.log 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not start: see /tmp/platbot-dockerd.log"
}

# The Debian bases the Dockerfiles name: pulled when Docker Hub answers, otherwise made from
# Debian's archive (mmdebstrap --variant=minbase bookworm | docker import).
ensure_debian_bases() {
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
}

# The fake Slack as a program (tests/support/fake_slack_cli.cpp), built in $1; sets $fake_port.
start_fake_slack() {
    local build=$1
    say "building the fake Slack (tests/support/fake_slack_cli.cpp)"
    [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLATBOT_TESTS=ON >/dev/null
    cmake --build "$build" --target fake_slack_cli -j "$(nproc)" >/dev/null
    coproc FAKE { exec "$build/tests/fake_slack_cli"; }
    fake_pid=$FAKE_PID
    local first
    read -r -t 10 first <&"${FAKE[0]}" || die "the fake Slack did not start"
    fake_port=${first#port }
}

# One request to the fake, one line back (see fake_slack_cli.cpp).
ask() {
    echo "$1" >&"${FAKE[1]}"
    local answer
    read -r -t 90 answer <&"${FAKE[0]}" || answer="no answer"
    echo "$answer"
}

# Waits up to 30 s for container $1 to be healthy; $2 says after what.
wait_healthy() {
    local status=""
    for _ in $(seq 30); do
        status=$(docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null || echo gone)
        [ "$status" = healthy ] && return 0
        sleep 1
    done
    docker logs --tail 20 "$1" >&2 || true
    die "$1 is $status, not healthy, 30 s after $2"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
