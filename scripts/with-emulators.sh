#!/usr/bin/env bash
# Runs a command in apps/ with the emulators started and their endpoints in
# the environment, then stops them, whatever the command's outcome.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/emulators.sh" start
trap '"$root/scripts/emulators.sh" stop' EXIT
# shellcheck source=/dev/null
. "$root/build/emulators.env"
cd "$root/apps"
"$@"
