#!/usr/bin/env bash
# Reports the drift check (drift.yml) as one issue per stack: opened when a
# stack drifted or could not be checked, commented on while it stays so,
# closed when the stack matches its code again.
#
# usage: scripts/ci/drift-issue.sh <dir> <stack>...
# <dir> holds drift-<stack>.outcome (the check step's outcome) and
# drift-<stack>.txt (its plan); gh reads GH_TOKEN; RUN_URL links the run.
set -euo pipefail

dir=$1
shift
for stack in "$@"; do
  title="Drift: stack $stack"
  outcome=$(cat "$dir/drift-$stack.outcome" 2>/dev/null || echo "not run")
  issue=$(gh issue list --state open --search "\"$title\" in:title" --json number,title \
    --jq ".[] | select(.title == \"$title\") | .number" | head -n 1)
  if [ "$outcome" = success ]; then
    if [ -n "$issue" ]; then
      gh issue close "$issue" --comment "The stack matches its code again: ${RUN_URL:-}"
    fi
    continue
  fi
  body=$(mktemp)
  {
    echo "The daily check of stack \`$stack\` ended with: $outcome (${RUN_URL:-})."
    echo "A plan below means the cloud differs from the state: run \`pulumi refresh --stack $stack\` to take the change, or deploy to undo it."
    echo
    echo '```'
    tail -c 30000 "$dir/drift-$stack.txt" 2>/dev/null || echo "(no plan: the check failed before pulumi ran)"
    echo '```'
  } >"$body"
  if [ -n "$issue" ]; then
    gh issue comment "$issue" --body-file "$body"
  else
    gh issue create --title "$title" --body-file "$body"
  fi
done
