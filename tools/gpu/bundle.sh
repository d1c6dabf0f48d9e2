#!/usr/bin/env bash
# Builds what a GPU machine without Node and without network needs next to the repository:
#   dist/gpu/acestep-repo.tar.gz     the committed tree (git archive HEAD)
#   dist/gpu/acestep-runtime.tar.xz  the Node 24 binary, the production dependencies of the
#                                    services and the CLI (linux-x64 onnxruntime-node only, no dev
#                                    tools) and Debian's libvulkan1 .deb (the Vulkan loader WebGPU
#                                    needs; tools/gpu/check.sh unpacks it at run time)
# and fails if the two together exceed the 64 MiB a GPU check may bring.
# On the GPU machine:  mkdir acestep && tar -xzf acestep-repo.tar.gz -C acestep &&
#                      tar -xJf acestep-runtime.tar.xz -C acestep && acestep/tools/gpu/check.sh
#   usage: tools/gpu/bundle.sh [--fast] [OUT_DIR (default dist/gpu)]
# --fast (the test's mode: test/system/gpu-bundle.test.ts) compresses with xz -0 and gzip -1,
# which is larger than the limit, so it reports the size without enforcing it, and takes the
# libvulkan1 .deb only when one is at hand (the CPU run of the test does not load it).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
fast=false
[ "${1:-}" = --fast ] && fast=true && shift
out=${1:-dist/gpu}
case $out in /*) ;; *) out=$root/$out ;; esac
limit=$((64 * 1024 * 1024))
log() { printf '[bundle %3ds] %s\n' "$SECONDS" "$*" >&2; }
if $fast; then gzip_level=-1 xz_level=-0; else gzip_level=-9 xz_level=-6; fi

node_bin=$(readlink -f "$(command -v node)")
[[ "$("$node_bin" --version)" == v24.* ]] || { log "needs Node 24, found $("$node_bin" --version)"; exit 1; }
[ -z "$(git status --porcelain --untracked-files=no)" ] || log "warning: uncommitted changes are not in the bundle"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/stage
mkdir -p "$stage" "$out"

log "repository: git archive HEAD"
git archive --format=tar HEAD | gzip "$gzip_level" >"$work/acestep-repo.tar.gz"
tar -xzf "$work/acestep-repo.tar.gz" -C "$stage"

log "production dependencies (pnpm, offline from the local store)"
# Copies, not hard links into the shared store (whose link counts other installs change mid-tar).
(cd "$stage" && ONNXRUNTIME_NODE_INSTALL=skip CI=true pnpm install --prod --frozen-lockfile --offline \
  --config.package-import-method=copy --reporter=silent --filter './packages/**' --filter './services/**' --filter './tools/gpu' >/dev/null)
# onnxruntime-node ships every platform's binaries; the GPU machines are linux-x64.
for bin in "$stage"/node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v6; do
  find "$bin" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
  find "$bin/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
done

# Source maps, type declarations and docs are not run (72 MB of maps alone).
find "$stage/node_modules/.pnpm" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.md' \) -delete

log "node $("$node_bin" --version) and libvulkan1"
mkdir -p "$stage/.gpu-runtime/bin" "$stage/.gpu-runtime/deb"
cp "$node_bin" "$stage/.gpu-runtime/bin/node"
# Debian bookworm's loader (what the lavapipe CI machines run); the check unpacks it only where
# the GPU machine has no libvulkan.so.1 of its own.
(cd "$stage/.gpu-runtime/deb" && apt-get download -qq libvulkan1 2>/dev/null) ||
  cp /var/cache/apt/archives/libvulkan1_*_amd64.deb "$stage/.gpu-runtime/deb/" 2>/dev/null ||
  $fast || { log "no libvulkan1 .deb: apt-get download failed and none in /var/cache/apt/archives" && exit 1; }
printf 'node %s\nbuilt %s from %s\n' "$("$node_bin" --version)" "$(date -u +%FT%TZ)" "$(git rev-parse HEAD)" \
  >"$stage/.gpu-runtime/VERSION"

log "compressing (xz $xz_level)"
(cd "$stage" && find . -type d -name node_modules -prune -print | sed 's|^\./||' | sort >"$work/list" &&
  echo .gpu-runtime >>"$work/list" &&
  tar -cf - -T "$work/list" | xz "$xz_level" -T0 >"$work/acestep-runtime.tar.xz")

mv "$work/acestep-repo.tar.gz" "$work/acestep-runtime.tar.xz" "$out/"
repo=$(stat -c %s "$out/acestep-repo.tar.gz")
runtime=$(stat -c %s "$out/acestep-runtime.tar.xz")
total=$((repo + runtime))
log "$out/acestep-repo.tar.gz $((repo / 1024)) KiB + $out/acestep-runtime.tar.xz $((runtime / 1024)) KiB = $((total / 1024)) KiB (limit $((limit / 1024)) KiB)"
[ "$total" -le "$limit" ] || $fast || { log "over the 64 MiB limit"; exit 1; }
