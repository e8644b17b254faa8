#!/usr/bin/env bash
# The README's two set-up commands:
#   bash scripts/dev.sh demo   install what is missing, build, start the bot on the console
#   bash scripts/dev.sh test   install what is missing, build (warnings are errors), run all tests
# Extra arguments after `demo` go to platbot; after `test` they go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
shift || true
jobs="${PLATBOT_JOBS:-2}"

bash scripts/install-deps.sh

case "$mode" in
  demo)
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLATBOT_TESTS=OFF >/dev/null
    cmake --build build --target platbot -j "$jobs" >&2
    exec ./build/platbot --config config/demo.yaml "$@"
    ;;
  test)
    cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLATBOT_WERROR=ON -DPLATBOT_TESTS=ON
    cmake --build build-test -j "$jobs"
    cd build-test
    ctest --output-on-failure -j "$jobs" --timeout 120 "$@"
    # Again with the clock a year ahead: no test may depend on today's date. Monotonic
    # time stays real so timeouts mean what they say; the preload is explained in
    # tests/support/timerfd_due_now.cpp.
    echo "dev.sh: the suite again, with the clock a year ahead (faketime +365d)" >&2
    FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$PWD/tests/libtimerfd_due_now.so" \
      faketime -f '+365d' ctest --output-on-failure -j "$jobs" --timeout 120 "$@"
    ;;
  *)
    echo "usage: bash scripts/dev.sh demo|test" >&2
    exit 2
    ;;
esac
