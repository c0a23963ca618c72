#!/usr/bin/env bash
# Builds the real Kubernetes control plane the `k8s` tests run against (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok, helm) from the Go modules pinned in
# tests/k8s/controlplane/ into a cache folder outside the repo, keyed by those pins and this script:
#   ${WBSUPPLY_CACHE:-~/.cache/wbsupply}/controlplane-<hash>/bin
# Idempotent and safe to run concurrently (flock): a cached run takes well under a second.
# Prints the bin folder as its last line. A cold build takes ~15-25 min of CPU on 2 cores.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CP=$ROOT/tests/k8s/controlplane
K8S_VERSION=v1.37.2   # must match k8s.io/kubernetes in $CP/go.mod

hash=$(cat "${BASH_SOURCE[0]}" "$CP"/go.mod "$CP"/go.sum "$CP"/*/go.mod "$CP"/*/go.sum | sha256sum | cut -c1-16)
CACHE=${WBSUPPLY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wbsupply}
DIR=$CACHE/controlplane-$hash
BIN=$DIR/bin
mkdir -p "$CACHE"

if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi
exec 9>"$DIR.lock"
flock 9
if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { echo "build-controlplane: Go (>= 1.26) is required" >&2; exit 1; }
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS="${GOFLAGS:-} -buildvcs=false" CGO_ENABLED=0
start=$(date +%s)
TMP=$DIR/bin.partial
mkdir -p "$TMP"

say() { echo "build-controlplane: $*" >&2; }
# No -trimpath: it would not reuse the Go build cache across runs.
build() {  # build <module dir> <ldflags> <package>...
  local dir=$1 ldflags=$2; shift 2
  local todo=()
  for pkg in "$@"; do [ -x "$TMP/$(basename "$pkg")" ] || todo+=("$pkg"); done
  [ ${#todo[@]} -eq 0 ] && return 0
  say "building ${todo[*]}"
  (cd "$dir" && go build -ldflags "$ldflags" -o "$TMP/" "${todo[@]}")
}

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
kv=k8s.io/component-base/version
cv=k8s.io/client-go/pkg/version
kflags="-s -w"
for p in $kv $cv; do
  kflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  kflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

if [ ! -x "$TMP/etcd" ]; then
  say "building etcd"
  (cd "$CP/etcd" && go build -ldflags "-s -w" -o "$TMP/etcd" go.etcd.io/etcd/server/v3)
fi
build "$CP" "$kflags" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
build "$CP/kwok" "-s -w" sigs.k8s.io/kwok/cmd/kwok
build "$CP/helm" "-s -w -X helm.sh/helm/v3/internal/version.version=v3.22.0" helm.sh/helm/v3/cmd/helm

# kwok's "fast" stages (nodes become Ready, pods Running at once), flattened from its kustomize folder.
kwokdir=$(cd "$CP/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
: > "$TMP/kwok-stages.yaml"
for d in node/fast node/heartbeat-with-lease pod/fast; do
  for f in "$kwokdir/kustomize/stage/$d"/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] && continue
    { echo "---"; cat "$f"; } >> "$TMP/kwok-stages.yaml"
  done
done

rm -rf "$BIN"
mv "$TMP" "$BIN"
echo "$K8S_VERSION built in $(( $(date +%s) - start )) s" > "$BIN/.complete"
say "done in $(( $(date +%s) - start )) s"
echo "$BIN"
