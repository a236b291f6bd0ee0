#!/usr/bin/env bash
# The mutation score: applies each patch in mutations/ (a small defect of
# the program, the workflows or the apps, named on its first line) to a
# scratch copy of the repository, runs the test layers from the cheapest
# up until one fails, and reports which layer caught it. A mutation that
# every layer passes survived: the script fails, since make test would
# have passed with that defect.
#
# usage: scripts/mutations.sh [mutation name...]   (default: all)
# LAYERS="engine" runs only the layers named, to show that a given
# layer's own check fails on a defect an earlier layer also catches.
# Writes build/mutations/report.md; each layer's output goes to
# build/mutations/<name>/<layer>.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

out=$root/build/mutations
mkdir -p "$out"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for p in mutations/*.patch; do names+=("$(basename "$p" .patch)"); done
fi

# The layers of make test, cheapest first, each a command run in the
# scratch copy.
read -r -a layers <<<"${LAYERS:-program apps conformance engine}"
run_layer() {
  case "$1" in
    program) go test -count=1 ./... && (cd engine/standin && go test -count=1 ./...) ;;
    apps) make --no-print-directory test-apps ;;
    conformance) make --no-print-directory conformance ;;
    engine) make --no-print-directory test-engine ;;
  esac
}

report=$out/report.md
{
  echo "| mutation | defect | caught by |"
  echo "|---|---|---|"
} >"$report"
survived=0
for name in "${names[@]}"; do
  patch=$root/mutations/$name.patch
  [ -f "$patch" ] || { echo "mutations: no $patch" >&2; exit 2; }
  defect=$(sed -n '1s/^Defect: //p' "$patch")
  work=$out/$name/tree
  rm -rf "${out:?}/${name:?}"
  mkdir -p "$out/$name"
  git worktree add -q --detach "$work" HEAD
  git -C "$work" apply "$patch" || { echo "mutations: $name no longer applies; remake it against the code" >&2; exit 2; }
  # What no mutation touches is shared: the pinned tools and the
  # emulators' packages.
  mkdir -p "$work/build"
  ln -s "$root/build/bin" "$work/build/bin"
  ln -s "$root/scripts/emulators/node_modules" "$work/scripts/emulators/node_modules"
  caught=""
  for layer in "${layers[@]}"; do
    # The apps' tests see only apps/.
    if [ "$layer" = apps ] && ! grep -q '^diff --git a/apps/' "$patch"; then
      continue
    fi
    echo "mutations: $name: $layer"
    if ! (cd "$work" && run_layer "$layer") >"$out/$name/$layer.log" 2>&1; then
      caught=$layer
      break
    fi
  done
  git worktree remove --force "$work"
  if [ -z "$caught" ]; then
    survived=$((survived + 1))
    caught="**survived**"
  fi
  echo "mutations: $name: $caught"
  echo "| \`$name\` | $defect | $caught |" >>"$report"
done
cat "$report"
[ "$survived" -eq 0 ] || { echo "mutations: $survived survived" >&2; exit 1; }
