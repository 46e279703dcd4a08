#!/usr/bin/env bash
# Fetches the console's browser libraries from the npm registry and copies
# their distribution files and licenses into static/vendor/, where go:embed
# picks them up. The result is committed; run this only to change a version.
set -euo pipefail
cd "$(dirname "$0")"
UPLOT_VERSION=1.6.32

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$UPLOT_VERSION" >/dev/null && tar xzf "uplot-$UPLOT_VERSION.tgz")
dst=static/vendor/uplot
rm -rf "$dst"
mkdir -p "$dst"
cp "$tmp/package/dist/uPlot.esm.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dst/"
echo "uplot $UPLOT_VERSION" >"$dst/VERSION"
echo "vendored uplot $UPLOT_VERSION into $dst"
