#!/usr/bin/env bash
# Builds a real kube-apiserver from Debian's kubernetes source package (1.20.2, with its full vendor/ tree, so the
# build needs no network beyond the Debian mirror) and caches it outside the repository, keyed by version and
# build revision:
#   ${IRSA_KUBE_CACHE:-$HOME/.cache/irsa-auditor}/kube-apiserver-v1.20.2-2
# Installs what it needs from Debian first (golang-go, etcd-server, etcd-client, rsync, jq, dpkg-dev, Debian's
# reflect2, and a deb-src entry for the mirror the machine already uses). Prints the binary's path on the last
# line. About 5 minutes on 2 cores, once.
set -euo pipefail

VERSION=1.20.2
# Revision 2: vendored reflect2 replaced by 1.0.2 (see below). Keep in step with real-kube-api.ts.
REVISION=2
CACHE_DIR="${IRSA_KUBE_CACHE:-$HOME/.cache/irsa-auditor}"
BINARY="$CACHE_DIR/kube-apiserver-v$VERSION-$REVISION"

if [ -x "$BINARY" ]; then
  echo "$BINARY"
  exit 0
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# The source package needs a deb-src entry: the machine's own Debian mirror and suite, with Types deb-src.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  suite=$(awk '/^Suites:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" "$suite" | as_root tee /etc/apt/sources.list.d/irsa-auditor-deb-src.sources >/dev/null
fi
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go etcd-server etcd-client rsync jq dpkg-dev \
  golang-github-modern-go-reflect2-dev >/dev/null

mkdir -p "$CACHE_DIR"
work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq --download-only kubernetes >/dev/null
dpkg-source -x ./kubernetes_*.dsc source >/dev/null
cd source
# The tree vendors modern-go/reflect2 1.0.1, whose map iteration faults under Go >= 1.18: kube-apiserver dies
# with `fatal error: fault` (SIGSEGV in mapiterinit) the first time a mutating webhook returns a patch, when it
# records the patch as an audit annotation. 1.0.2 fixes it with the same API; Debian ships it.
rsync -a --delete /usr/share/gocode/src/github.com/modern-go/reflect2/ vendor/github.com/modern-go/reflect2/
# The Makefile builds inside a GOPATH laid out as k8s.io/kubernetes; plain `go build -mod=vendor` does not work.
mkdir -p .go/src/k8s.io
ln -s ../../.. .go/src/k8s.io/kubernetes
started=$(date +%s)
GOPATH="$PWD/.go" GOFLAGS= CGO_ENABLED=0 make WHAT=cmd/kube-apiserver >build.log 2>&1 || {
  tail -40 build.log >&2
  echo "kube-apiserver did not build (the end of the log is above)" >&2
  exit 1
}
echo "built kube-apiserver v$VERSION (revision $REVISION) in $(($(date +%s) - started)) s" >&2
install -m 0755 _output/bin/kube-apiserver "$BINARY.tmp"
mv "$BINARY.tmp" "$BINARY"
echo "$BINARY"
