#!/usr/bin/env bash
# Instant rollback of a blue/green release: points the `groundwork` Service
# back at the other colour (the one blue-green-deploy.sh left running) and
# `groundwork-preview` at the colour being rolled back. Nothing is rebuilt or
# restarted, so it takes effect as fast as the Service's endpoints update.
# Migrations are not undone: releases keep the schema backward compatible
# (expand, then contract a release later), so the old version runs on it.
#
# Tests: test/unit/blue-green-scripts.spec.ts runs this with a fake kubectl.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: k8s/scripts/rollback.sh --namespace <ns> [options]

Switches the groundwork Service back to the previous colour, if that colour
still has ready pods.

  --namespace <ns>   namespace, e.g. groundwork-production
  --scale            if the previous colour has no ready pods, scale it to the
                     live colour's size and wait for it first
  --timeout <dur>    limit for --scale's rollout (default 10m)
  --dry-run          print every command that would change the cluster
                     instead of running it (queries still run)
  -h, --help         this text

Environment: KUBECTL (default kubectl) is the kubectl command to run.
Exit codes: 0 switched, 1 refused or failed (traffic unchanged), 2 usage error.
EOF
}

KUBECTL=${KUBECTL:-kubectl}
COLOR_LABEL=app.kubernetes.io/color
namespace=''
scale=false
timeout=10m
dry_run=false

die() {
  printf 'rollback: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'rollback: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --namespace | -n) [[ $# -ge 2 ]] || usage_error "$1 needs a value"; namespace=$2; shift 2 ;;
    --scale) scale=true; shift ;;
    --timeout) [[ $# -ge 2 ]] || usage_error "--timeout needs a value"; timeout=$2; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done
[[ -n "$namespace" ]] || usage_error "--namespace is required"

# shellcheck source=SCRIPTDIR/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

live=$(query get service groundwork -o "jsonpath={.spec.selector.app\.kubernetes\.io/color}") ||
  die "no Service groundwork in $namespace"
case "$live" in
  blue) previous=green ;;
  green) previous=blue ;;
  *) die "Service groundwork selects colour '$live', expected blue or green" ;;
esac

ready=$(query get deployment "groundwork-$previous" -o 'jsonpath={.status.readyReplicas}')
ready=${ready:-0}
if [[ "$ready" -lt 1 ]]; then
  [[ "$scale" == true ]] ||
    die "groundwork-$previous has no ready pods: rerun with --scale to start it first (traffic stays on $live)"
  replicas=$(query get deployment "groundwork-$live" -o 'jsonpath={.spec.replicas}')
  [[ "$replicas" =~ ^[0-9]+$ && "$replicas" -ge 1 ]] || replicas=1
  change scale deployment "groundwork-$previous" --replicas="$replicas"
  change rollout status deployment "groundwork-$previous" --timeout="$timeout" ||
    die "groundwork-$previous did not become ready: traffic stays on $live"
fi

echo "Switching traffic from $live back to $previous"
select_color groundwork "$previous"
select_color groundwork-preview "$live"
change annotate service groundwork --overwrite \
  "groundwork/previous-color=$live" "groundwork/switched-at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "Live: groundwork-$previous. groundwork-$live still runs (preview) for investigation."
