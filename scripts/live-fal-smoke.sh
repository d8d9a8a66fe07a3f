#!/usr/bin/env bash
# Live smoke test of the fal provider against the real fal Compute API. It bills one
# 1x H100 for a few minutes. Skips (exit 0) unless CRABBOX_LIVE=1, CRABBOX_LIVE_PROVIDERS
# includes fal, and a key is in CRABBOX_FAL_KEY or FAL_KEY.
set -euo pipefail

skip() { echo "live-fal-smoke: skipped: $*"; exit 0; }
[[ "${CRABBOX_LIVE:-}" == "1" ]] || skip "set CRABBOX_LIVE=1"
[[ ",${CRABBOX_LIVE_PROVIDERS:-}," == *",fal,"* ]] || skip "CRABBOX_LIVE_PROVIDERS does not include fal"
[[ -n "${CRABBOX_FAL_KEY:-}${FAL_KEY:-}" ]] || skip "no CRABBOX_FAL_KEY or FAL_KEY"

here="$(cd "$(dirname "$0")/.." && pwd)"
crabbox() { "$here/bin/crabbox" "$@"; }
slug="smoke-$(date +%s)"
state="$(mktemp -d)"
export CRABBOX_STATE_DIR="$state"
work="$(mktemp -d)"
cd "$work" && git init -q && echo smoke > README && git add README

# whatever happens below, the lease is stopped
finish() {
  crabbox stop --provider fal "$slug" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap finish EXIT

step() { echo "== $*"; }
step doctor;  crabbox doctor --provider fal
step warmup;  crabbox warmup --provider fal --slug "$slug"
step status;  crabbox status --provider fal "$slug" --json
step run;     crabbox run --provider fal --id "$slug" -- nvidia-smi
step list;    crabbox list --provider fal --json | tee "$state/list.json"
grep -q "\"slug\":\"$slug\"" "$state/list.json"
step stop;    crabbox stop --provider fal "$slug"
step cleanup; crabbox cleanup --provider fal --dry-run

step residue
crabbox list --provider fal --json > "$state/after.json"
if grep -q "$slug" "$state/after.json"; then echo "residue: $slug still listed"; exit 1; fi
if [[ -n "$(ls -A "$state/claims" 2>/dev/null)" ]]; then echo "residue: claims left in $state/claims"; exit 1; fi
key="${CRABBOX_FAL_KEY:-$FAL_KEY}"
if grep -rqF -- "$key" "$state"; then echo "the key was written under the state dir"; exit 1; fi
echo "live-fal-smoke: ok"
