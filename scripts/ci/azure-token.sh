#!/usr/bin/env bash
# Keeps the job's GitHub OIDC token for Entra ID in a file, fresh, for
# the Azure SDKs' workload identity credential (AZURE_FEDERATED_TOKEN_FILE
# with AZURE_CLIENT_ID and AZURE_TENANT_ID): the azblob:// state and the
# azurekeyvault:// secrets key sign in through it (gocloud.dev's
# DefaultAzureCredential). A GitHub token lives five minutes, and
# az login --federated-token cannot renew it (Azure/azure-cli#28708), so
# an up that outlasted its first Azure tokens would fail on its next
# state write; the file is rewritten every four minutes for the rest of
# the job instead. (azure-native and kubelogin's workloadidentity mode
# fetch their own GitHub tokens.)
#
# usage: scripts/ci/azure-token.sh <file>
set -euo pipefail

file=$1
if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] || [ -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
  echo "::error title=id-token::the job gets no OIDC token: give it the permission id-token: write" >&2
  exit 1
fi
fetch() {
  curl -sSf -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
    "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=api://AzureADTokenExchange" | jq -er .value >"$file.new" &&
    mv "$file.new" "$file"
}
fetch
# The runner ends the loop with the job; scripts/ci/stack.sh reports the
# refreshes that failed, from the log.
(while sleep 240; do fetch || echo "$(date -u +%FT%TZ) refresh failed; retrying in 4 minutes"; done) >>"$file.log" 2>&1 &
disown
