#!/bin/sh
# Builds the Pulumi Kubernetes resource provider plugin pinned by go.mod in this
# directory into <outdir>/pulumi-resource-kubernetes.
#
# Usage (from the repository root): engine/tools/kubernetes/build.sh <outdir>
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 <outdir>" >&2
	exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
bin=$out/pulumi-resource-kubernetes

# The plugin reports the version of the Kubernetes SDK the program requires
# (the root go.mod) as its own and stamps it into the schema it serves, so the
# engine pairs the two.
plugin_version=$(awk '$1 == "github.com/pulumi/pulumi-kubernetes/sdk/v4" { sub(/^v/, "", $2); print $2; exit }' "$root/go.mod")

# The provider module has no release tags, only this commit's pseudo-version
# (see go.mod). Its hash is pinned here as well because the module is consumed
# through a directory replace, which go.sum does not cover.
module=github.com/pulumi/pulumi-kubernetes/provider/v4
module_sum=h1:j2bphCf7c2YhnBrhwht2f3TNRRgcMImltUlAgzxr9H4=

# Only the proxy is trusted as a source; falling back to direct VCS fetches
# would make the result depend on whatever the upstream repository serves now.
GOPROXY=$(go env GOPROXY | sed 's/,direct$//')
# A workspace file elsewhere in the tree must not change what gets built.
GOWORK=off
export GOPROXY GOWORK

module_version=$(awk -v m="$module" '
	$1 == "require" && $2 == m { print $3; exit }
	$1 == m { print $2; exit }' "$here/go.mod")
if [ -z "$module_version" ]; then
	echo "$0: $module is not required in $here/go.mod" >&2
	exit 1
fi

# Must match the replace directive in go.mod.
src=$root/build/engine/src/pulumi-kubernetes-provider
stamp="$module@$module_version $module_sum $plugin_version"

# Only the pins, the plugin version and this script decide what gets built
# (the provider copy below is derived from them), so a timestamp and stamp
# check is enough to skip a multi-minute build.
if [ -f "$bin" ] && [ "$(cat "$src/.stamp" 2>/dev/null || true)" = "$stamp" ] &&
	[ -n "$(find "$bin" -newer "$here/go.mod" -newer "$here/go.sum" -newer "$here/build.sh")" ]; then
	exit 0
fi

if [ "$(cat "$src/.stamp" 2>/dev/null || true)" != "$stamp" ]; then
	tmp=$(mktemp -d)
	new=$src.new.$$
	trap 'chmod -R u+w "$new" 2>/dev/null || :; rm -rf "$tmp" "$new"' EXIT

	# Run outside any module (and without inherited GOFLAGS such as -modfile)
	# so the download is not resolved against a go.mod whose replace points at
	# the copy being made.
	info=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$module@$module_version") || {
		printf '%s\n' "$info" >&2
		exit 1
	}
	dir=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
	sum=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",*$/\1/p')
	if [ -z "$dir" ] || [ "$sum" != "$module_sum" ]; then
		printf '%s\n' "$info" >&2
		echo "$0: $module@$module_version: want $module_sum, got '$sum'" >&2
		exit 1
	fi

	# The module cache is read-only and the published module zip leaves out
	# the embed files the provider's main package needs, so they are generated
	# in a writable copy, the way the upstream Makefile does it (VERSION set,
	# go generate runs generate.go next to main.go). generate.go resolves
	# against the copy's own go.mod, i.e. the versions upstream uses.
	mkdir -p "$(dirname "$src")"
	cp -R "$dir" "$new"
	chmod -R u+w "$new"
	(cd "$new/cmd/pulumi-resource-kubernetes" && VERSION=$plugin_version go run generate.go)
	printf '%s\n' "$stamp" >"$new/.stamp"

	if [ -d "$src" ]; then
		chmod -R u+w "$src"
		rm -rf "$src"
	fi
	mv "$new" "$src"
fi

# Same flags as the upstream release build (static, version stamped in), plus
# -trimpath and -buildvcs=false so the binary does not depend on where or in
# which checkout state it was built.
cd "$here"
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
	-ldflags "-X $module/pkg/version.Version=$plugin_version" \
	-o "$bin" "$module/cmd/pulumi-resource-kubernetes"
# Bump the mtime even when go build found the binary current, so the check at
# the top keeps skipping.
touch "$bin"
