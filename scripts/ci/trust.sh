#!/usr/bin/env bash
# The OIDC trust of the workflows' two cloud identities, as the clouds take
# it: which GitHub token subjects may sign in as the read-only identity
# (previews of pull requests and of main, the drift check) and as the
# deploy identity (the production and destroy environments). A test holds
# these subjects to the ones the workflows' jobs present.
#
# usage: scripts/ci/trust.sh aws <preview|deploy> <subject prefix> <account id> [partition]
#          an IAM role trust policy, for aws iam create-role (partition:
#          aws unless aws-cn or aws-us-gov)
#        scripts/ci/trust.sh azure <preview|deploy> <subject prefix>
#          one federated identity credential per line, for
#          az ad app federated-credential create --parameters
#        scripts/ci/trust.sh subjects <preview|deploy> <subject prefix>
#
# The subject prefix is repo:OWNER/REPO, or for repositories created (or
# renamed, or transferred) since 2026-07-15 repo:OWNER@OWNER_ID/REPO@REPO_ID
# (GitHub docs, "OpenID Connect reference"): docs/ci.md says how to tell.
set -euo pipefail

usage() {
  echo "usage: scripts/ci/trust.sh <aws|azure|subjects> <preview|deploy> <repo:OWNER/REPO> [account id]" >&2
  exit 2
}
[ $# -ge 3 ] || usage
format=$1 identity=$2 prefix=$3
[[ "$prefix" == repo:*/* ]] || { echo "trust: the subject prefix \"$prefix\" is not repo:OWNER/REPO" >&2; exit 2; }
case "$identity" in
  preview) subjects=("$prefix:pull_request" "$prefix:ref:refs/heads/main") ;;
  deploy) subjects=("$prefix:environment:production" "$prefix:environment:destroy") ;;
  *) usage ;;
esac

case "$format" in
  subjects) printf '%s\n' "${subjects[@]}" ;;
  aws)
    account=${4:-}
    [[ "$account" =~ ^[0-9]{12}$ ]] || { echo "trust: the AWS account id \"$account\" is not 12 digits" >&2; exit 2; }
    list=$(printf '"%s",' "${subjects[@]}")
    cat <<JSON
{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "arn:${5:-aws}:iam::$account:oidc-provider/token.actions.githubusercontent.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
      "StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": [${list%,}]
      }
    }
  }]
}
JSON
    ;;
  azure)
    for subject in "${subjects[@]}"; do
      # A credential's name: letters, digits, - and _ only.
      name="edw-$identity-$(echo "${subject#"$prefix":}" | tr -c 'a-zA-Z0-9\n' '-')"
      printf '{"name":"%s","issuer":"https://token.actions.githubusercontent.com","subject":"%s","audiences":["api://AzureADTokenExchange"]}\n' "$name" "$subject"
    done
    ;;
  *) usage ;;
esac
