#!/bin/sh
# Demo rollout for the `deploy` command: prints one progress line per step, like a real
# deployment tool would, and takes a few seconds so the status message updates in place.
# Usage: deploy.sh SERVICE ENVIRONMENT   (a service named "broken" fails at the health check)
set -eu
service=$1
environment=$2
step_delay=${DEMO_STEP_DELAY:-0.7}

step() {
    echo "$1"
    sleep "$step_delay"
}

step "Resolving the latest build of $service"
step "Pulling image registry.example.com/$service:$(date +%Y%m%d)"
step "Rolling out to $environment: 1/3 replicas"
step "Rolling out to $environment: 2/3 replicas"
step "Rolling out to $environment: 3/3 replicas"
if [ "$service" = "broken" ]; then
    echo "Health check failed: /healthz answered 503 on 2 of 3 replicas" >&2
    exit 3
fi
echo "Health checks passed; $service is live on $environment"
