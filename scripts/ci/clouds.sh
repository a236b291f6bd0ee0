#!/usr/bin/env bash
# Which clouds a workflow job signs in to for a stack: the one the stack
# deploys to (edw:cloud), the one holding the state (PULUMI_BACKEND_URL)
# and the one holding the secrets key (the stack file's secretsprovider).
# A job that signed in to its stack's cloud only could not read a state
# kept in the other.
#
# usage: scripts/ci/clouds.sh <stack> >>"$GITHUB_OUTPUT"   # aws=true|false, azure=true|false
set -euo pipefail
cd "$(dirname "$0")/../.."

stack_file="Pulumi.$1.yaml"
[ -f "$stack_file" ] || { echo "::error title=stack::no $stack_file" >&2; exit 1; }
aws=false azure=false
mark() {
  case "$1" in
    aws | s3://* | awskms://*) aws=true ;;
    azure | azblob://* | azurekeyvault://*) azure=true ;;
  esac
}
mark "$(sed -n 's/^  edw:cloud: *//p' "$stack_file")"
mark "${PULUMI_BACKEND_URL:-}"
mark "$(sed -n 's/^secretsprovider: *//p' "$stack_file")"
echo "aws=$aws"
echo "azure=$azure"
