#!/usr/bin/env bash
# Re-vendor the dashboard's front-end libraries from the npm registry (run by hand when upgrading;
# the files are committed so that installing nni-core needs no build step and no network).
set -euo pipefail
UPLOT_VERSION=1.6.32
dest="$(cd "$(dirname "$0")/.." && pwd)/core/nni_core/dashboard/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$UPLOT_VERSION" >/dev/null && tar xzf "uplot-$UPLOT_VERSION.tgz")
mkdir -p "$dest/uplot"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dest/uplot/"
echo "$UPLOT_VERSION" > "$dest/uplot/VERSION.txt"
echo "vendored uPlot $UPLOT_VERSION into $dest/uplot"
