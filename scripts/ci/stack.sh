#!/usr/bin/env bash
# The workflows' Pulumi step: every job that touches a stack runs this, so
# that a missing variable, login or stack stops the job at once with a
# message that names it, instead of deep inside the engine. The engine
# layer's workflow test runs the workflows' own steps through it.
#
# usage: scripts/ci/stack.sh <preview|up|drift|destroy> <stack>
#
# Reads PULUMI_BACKEND_URL, the backend's credentials (PULUMI_ACCESS_TOKEN,
# AWS_REGION, AZURE_STORAGE_ACCOUNT), PULUMI_CONFIG_PASSPHRASE for a
# passphrase stack, and EDW_CONFIRM for destroy. Writes what Pulumi printed
# to EDW_PLAN (default build/ci/<command>-<stack>.txt) and, on a runner, to
# the job summary.
set -euo pipefail
cd "$(dirname "$0")/../.."

bootstrap="docs/ci.md#bootstrap"

fail() {
  # ::error:: makes GitHub show the line on the run's page; locally it
  # reads as it is.
  echo "::error title=$1::$2" >&2
  exit 1
}

[ $# -eq 2 ] || fail "usage" "scripts/ci/stack.sh <preview|up|drift|destroy> <stack>"
command=$1 stack=$2
case "$command" in
  preview | up | drift | destroy) ;;
  *) fail "usage" "unknown command \"$command\": want preview, up, drift or destroy" ;;
esac
stack_file="Pulumi.$stack.yaml"
if [ ! -f "$stack_file" ]; then
  stacks=(Pulumi.*.yaml)
  fail "stack" "no $stack_file: the stacks are ${stacks[*]}"
fi

backend=${PULUMI_BACKEND_URL:-}
case "$backend" in
  "") fail "PULUMI_BACKEND_URL" "is empty: set the repository variable PULUMI_BACKEND_URL to the state's s3://, azblob:// or https:// address ($bootstrap)" ;;
  s3://*)
    if [[ "$backend" != *region=* && -z "${AWS_REGION:-}" ]]; then
      fail "PULUMI_BACKEND_URL" "$backend names no region: add ?region=<region> to the variable, or set AWS_REGION"
    fi
    ;;
  azblob://*)
    [ -n "${AZURE_STORAGE_ACCOUNT:-}" ] || fail "AZURE_STORAGE_ACCOUNT" "is empty: an azblob:// backend needs the storage account's name (repository variable AZURE_STORAGE_ACCOUNT, $bootstrap)"
    ;;
  https://*)
    [ -n "${PULUMI_ACCESS_TOKEN:-}" ] || fail "PULUMI_ACCESS_TOKEN" "is empty: a Pulumi Cloud backend needs the secret PULUMI_ACCESS_TOKEN"
    ;;
  file://*) ;;
  *) fail "PULUMI_BACKEND_URL" "\"$backend\" is not an s3://, azblob://, https:// or file:// address" ;;
esac

# The stack file carries the secrets provider that pulumi stack init
# wrote; without it a fresh checkout cannot read the stack's secrets (a
# Pulumi Cloud stack keeps its provider in the service).
if [[ "$backend" != https://* ]]; then
  if grep -q '^secretsprovider:' "$stack_file"; then
    :
  elif grep -q '^encryptionsalt:' "$stack_file"; then
    [ -n "${PULUMI_CONFIG_PASSPHRASE:-}" ] || fail "PULUMI_CONFIG_PASSPHRASE" "is empty: $stack_file uses the passphrase secrets provider; set the secret PULUMI_CONFIG_PASSPHRASE"
  else
    fail "$stack_file" "has no secretsprovider or encryptionsalt line: create the stack once and commit the file ($bootstrap)"
  fi
fi

if [ "$command" = destroy ] && [ "${EDW_CONFIRM:-}" != "$stack" ]; then
  fail "confirm" "type the stack's name, \"$stack\", to destroy it (got \"${EDW_CONFIRM:-}\")"
fi

pulumi login --non-interactive "$backend" >/dev/null ||
  fail "pulumi login" "cannot reach the state at $backend: the job must sign in to the cloud that holds it ($bootstrap)"
pulumi stack select --non-interactive "$stack" ||
  fail "stack" "\"$stack\" is not in $backend: create it once and commit $stack_file ($bootstrap)"

plan=${EDW_PLAN:-build/ci/$command-$stack.txt}
mkdir -p "$(dirname "$plan")"
flags=(--stack "$stack" --non-interactive --color never)
status=0
case "$command" in
  preview) pulumi preview "${flags[@]}" --diff >"$plan" 2>&1 || status=$? ;;
  up) pulumi up "${flags[@]}" --yes --diff >"$plan" 2>&1 || status=$? ;;
  # Changes made outside Pulumi (an AKS auto-upgrade, a console edit)
  # show as a plan after the refresh.
  drift) pulumi preview "${flags[@]}" --refresh --expect-no-changes --diff >"$plan" 2>&1 || status=$? ;;
  destroy) pulumi destroy "${flags[@]}" --yes >"$plan" 2>&1 || status=$? ;;
esac
cat "$plan"
token_log="${AZURE_FEDERATED_TOKEN_FILE:-}.log"
if [ -n "${AZURE_FEDERATED_TOKEN_FILE:-}" ] && [ -s "$token_log" ]; then
  echo "::warning title=Azure token::$(wc -l <"$token_log") refreshes of $AZURE_FEDERATED_TOKEN_FILE failed (scripts/ci/azure-token.sh): $(tail -n 1 "$token_log")"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo "### pulumi $command: $stack (exit $status)"
    echo '```'
    # A summary holds at most 1 MiB; the plan's end says what matters.
    tail -c 900000 "$plan"
    echo '```'
  } >>"$GITHUB_STEP_SUMMARY"
fi
exit "$status"
