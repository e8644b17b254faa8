#!/bin/sh
# Demo probe for the status board: the "CI runners" are well unless DATA/ci-down exists.
# Simulate an outage with `touch var/ci-down`, end it with `rm var/ci-down`.
# Usage: ci-health.sh DATA
if [ -e "$1/ci-down" ]; then
    echo "no CI runner answers" >&2
    exit 1
fi
echo "3 runners idle"
