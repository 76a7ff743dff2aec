# shellcheck shell=bash disable=SC2154
# Shared by blue-green-deploy.sh and rollback.sh (sourced, never run): how the
# scripts talk to the cluster. Needs KUBECTL, COLOR_LABEL, namespace and dry_run.

# Reads the cluster (always runs, also with --dry-run).
query() { "$KUBECTL" -n "$namespace" "$@"; }

# Changes the cluster (printed instead with --dry-run).
change() {
  if [[ "$dry_run" == true ]]; then
    printf '[dry-run] %s -n %s' "$KUBECTL" "$namespace"
    printf ' %q' "$@"
    printf '\n'
  else
    "$KUBECTL" -n "$namespace" "$@"
  fi
}

# Points a Service at one colour: select_color <service> <colour>.
select_color() {
  change patch service "$1" --type=merge \
    -p "{\"spec\":{\"selector\":{\"$COLOR_LABEL\":\"$2\"}}}"
}
