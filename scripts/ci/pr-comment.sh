#!/usr/bin/env bash
# Posts the previews' plans as one comment on the pull request, and edits
# that comment on later pushes instead of adding another. The comment is
# found by its first line, so that no other workflow's comment is edited.
#
# usage: scripts/ci/pr-comment.sh <pull request number> <plan>...
# gh reads GH_TOKEN and GH_REPO.
set -euo pipefail

marker="<!-- edw: pulumi preview -->"
pr=$1
shift
body=$(mktemp)
{
  echo "$marker"
  for plan in "$@"; do
    [ -e "$plan" ] || continue
    stack=$(basename "$plan" .txt)
    echo "### pulumi preview: ${stack#preview-}"
    echo '<details><summary>plan</summary>'
    echo
    echo '```'
    # A comment holds 65,536 characters; the plan's end says what matters.
    tail -c 30000 "$plan"
    echo '```'
    echo '</details>'
  done
} >"$body"
id=$(gh api "repos/$GH_REPO/issues/$pr/comments" --paginate \
  --jq "[.[] | select(.body | startswith(\"$marker\"))] | last | .id // empty" | tail -n 1)
if [ -n "$id" ]; then
  gh api -X PATCH "repos/$GH_REPO/issues/comments/$id" -F "body=@$body" >/dev/null
else
  gh pr comment "$pr" --body-file "$body"
fi
