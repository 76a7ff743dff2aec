#!/usr/bin/env bash
# Blue/green release of Groundwork (docs/architecture/decisions/0018-blue-green-colours.md).
#
# 1. reads the live colour from the `groundwork` Service; the other one is idle
# 2. applies the overlay without the live colour and without the two Services
#    (`-l`), so the live pods and the traffic stay as they are: the idle colour,
#    the ConfigMap, the Job, the CronJob get the overlay's image and settings
# 3. runs the migration Job and waits for it
# 4. scales the idle colour to the live colour's replica count, waits for ready
# 5. points `groundwork-preview` at the idle colour and runs the deployment
#    verification (node dist/src/cli/smoke.js) in a pod of the new image
#    against it; a failure stops here, with traffic untouched
# 6. switches `groundwork` to the idle colour and `groundwork-preview` to the
#    old one, which keeps running for an instant rollback (rollback.sh)
#
# Tests: test/unit/blue-green-scripts.spec.ts runs this with a fake kubectl.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: k8s/scripts/blue-green-deploy.sh --overlay <dir> [options]

Deploys the overlay's image to the idle colour, verifies it through the
groundwork-preview Service, then switches the groundwork Service to it.
The previous colour keeps running: k8s/scripts/rollback.sh switches back.

  --overlay <dir>       kustomize overlay to deploy, e.g. k8s/overlays/production
  --namespace <ns>      namespace (default: the overlay's `namespace:`)
  --timeout <duration>  limit for the migration and the rollout (default 15m)
  --skip-smoke          do not run the deployment verification (not recommended)
  --dry-run             print every command that would change the cluster
                        instead of running it (queries still run)
  -h, --help            this text

Environment: KUBECTL (default kubectl) is the kubectl command to run.
Exit codes: 0 switched, 1 a step failed (traffic unchanged), 2 usage error.
EOF
}

KUBECTL=${KUBECTL:-kubectl}
# The deployment verification, as the image runs it (test/unit/deploy-manifests.spec.ts reads this line).
SMOKE_COMMAND=(node dist/src/cli/smoke.js)
COLOR_LABEL=app.kubernetes.io/color
overlay=''
namespace=''
timeout=15m
skip_smoke=false
dry_run=false

die() {
  printf 'blue-green-deploy: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'blue-green-deploy: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}
step() { printf '\n==> %s\n' "$*"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --overlay) [[ $# -ge 2 ]] || usage_error "--overlay needs a value"; overlay=$2; shift 2 ;;
    --namespace | -n) [[ $# -ge 2 ]] || usage_error "$1 needs a value"; namespace=$2; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || usage_error "--timeout needs a value"; timeout=$2; shift 2 ;;
    --skip-smoke) skip_smoke=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

[[ -n "$overlay" ]] || usage_error "--overlay is required"
[[ -f "$overlay/kustomization.yaml" ]] || usage_error "$overlay has no kustomization.yaml"
if [[ -z "$namespace" ]]; then
  namespace=$(sed -n 's/^namespace:[[:space:]]*\([^[:space:]#]*\).*$/\1/p' "$overlay/kustomization.yaml" | head -n 1)
  [[ -n "$namespace" ]] || usage_error "$overlay sets no namespace: pass --namespace"
fi

# shellcheck source=SCRIPTDIR/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

step "Reading the live colour in namespace $namespace"
live=$(query get service groundwork -o "jsonpath={.spec.selector.app\.kubernetes\.io/color}" 2>/dev/null) ||
  die "no Service groundwork in $namespace: for the first deployment run kubectl apply -k $overlay (see k8s/README.md)"
case "$live" in
  blue) idle=green ;;
  green) idle=blue ;;
  *) die "Service groundwork selects colour '$live', expected blue or green" ;;
esac
echo "live: $live, deploying to: $idle"

step "Applying $overlay to everything but the live colour and the Services"
change delete job groundwork-migrate --ignore-not-found
change apply -k "$overlay" -l "$COLOR_LABEL!=$live,!groundwork/traffic"

step "Running the migrations"
if ! change wait --for=condition=complete --timeout="$timeout" job/groundwork-migrate; then
  query logs job/groundwork-migrate --tail=50 >&2 || true
  die "the migration Job did not complete: traffic stays on $live"
fi

step "Scaling groundwork-$idle to the size of groundwork-$live"
replicas=$(query get deployment "groundwork-$live" -o 'jsonpath={.spec.replicas}')
[[ "$replicas" =~ ^[0-9]+$ ]] || die "cannot read the replica count of groundwork-$live"
[[ "$replicas" -ge 1 ]] || replicas=1
change scale deployment "groundwork-$idle" --replicas="$replicas"
if ! change rollout status deployment "groundwork-$idle" --timeout="$timeout"; then
  die "groundwork-$idle did not become ready: traffic stays on $live"
fi

step "Verifying groundwork-$idle through groundwork-preview"
select_color groundwork-preview "$idle"
if [[ "$skip_smoke" == true ]]; then
  echo "skipped (--skip-smoke)"
else
  image=$(query get deployment "groundwork-$idle" -o 'jsonpath={.spec.template.spec.containers[0].image}')
  [[ -n "$image" ]] || die "cannot read the image of groundwork-$idle"
  pod="groundwork-smoke-$idle-$(date +%s)"
  # Labelled like the app so its NetworkPolicy confines it (and lets it reach
  # the API pods); component smoke keeps it out of every Service.
  overrides=$(
    cat <<JSON
{"spec":{"automountServiceAccountToken":false,"enableServiceLinks":false,
"securityContext":{"runAsNonRoot":true,"runAsUser":1000,"runAsGroup":1000,"seccompProfile":{"type":"RuntimeDefault"}},
"containers":[{"name":"$pod","resources":{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"cpu":"500m","memory":"256Mi"}},
"securityContext":{"runAsNonRoot":true,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}
JSON
  )
  if ! change run "$pod" --image="$image" --restart=Never --rm --attach --quiet \
    --labels="app.kubernetes.io/name=groundwork,app.kubernetes.io/component=smoke" \
    --override-type=strategic --overrides="$overrides" --pod-running-timeout=5m \
    --command -- "${SMOKE_COMMAND[@]}" --base-url http://groundwork-preview; then
    die "the deployment verification failed against groundwork-$idle: traffic stays on $live (fix, or roll the idle colour back with the previous image)"
  fi
fi

step "Switching traffic from $live to $idle"
select_color groundwork "$idle"
select_color groundwork-preview "$live"
change annotate service groundwork --overwrite \
  "groundwork/previous-color=$live" "groundwork/switched-at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"

printf '\nLive: groundwork-%s. groundwork-%s keeps running for a rollback:\n' "$idle" "$live"
printf '  k8s/scripts/rollback.sh --namespace %s\n' "$namespace"
printf 'Once the release has proved itself, free its resources with\n'
printf '  %s -n %s scale deployment groundwork-%s --replicas=0\n' "$KUBECTL" "$namespace" "$live"
