#!/usr/bin/env bash
# The GPU check: one command on a lent GPU machine (no Node, no network; Python with torch and
# onnx). From the repository unpacked with the bundle of tools/gpu/bundle.sh:
#   tools/gpu/check.sh                      full-size random set, WebGPU, a 60 s and a 240 s song
#   tools/gpu/check.sh --preset tiny --seconds 10,20      the same steps with the tiny set
# Steps: find Node (the bundle's, else the PATH's); give WebGPU a Vulkan loader (the bundled
# libvulkan1 .deb, unpacked here when the machine has none) and the NVIDIA driver's Vulkan ICD;
# probe that a WebGPU session opens; export the random model set with tools/export (cached in
# --models); then tools/gpu/check.ts starts the four services on the device, generates the songs
# and prints per-stage times, LM tokens/s and host↔device bytes next to the peer floors. The
# report is also written to OUT/report.txt (--out). See docs/gpu.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

preset=${ACESTEP_CHECK_PRESET:-full}
lm=1.7B
seconds=60,240
warmup=10
device=webgpu
models=
out=out/gpu-check
probe_only=false
usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF

options: --preset full|tiny (default $preset; ACESTEP_CHECK_PRESET)  --lm 0.6B|1.7B|4B (default $lm)
         --seconds LIST (default $seconds)  --warmup-seconds N (default $warmup; 0 = none)
         --device webgpu|cpu|cuda:0 (default $device)  --models DIR (default out/gpu-models-PRESET-LM)
         --out DIR (audio and report.txt; default $out)
         --probe-only (stop after the device probe: does the device run a graph here?)
         ACESTEP_CHECK_BUNDLED_VULKAN=1 uses the bundled loader even where the machine has one
EOF
}
while [ $# -gt 0 ]; do
  case $1 in
    --preset) preset=$2 ;;
    --lm) lm=$2 ;;
    --seconds) seconds=$2 ;;
    --warmup-seconds) warmup=$2 ;;
    --device) device=$2 ;;
    --models) models=$2 ;;
    --out) out=$2 ;;
    --probe-only) probe_only=true && shift && continue ;;
    -h | --help) usage && exit 0 ;;
    *) echo "check.sh: unknown option $1 (see --help)" >&2 && exit 2 ;;
  esac
  [ $# -ge 2 ] || { echo "check.sh: $1 needs a value" >&2 && exit 2; }
  shift 2
done
case $preset in full | tiny) ;; *) echo "check.sh: --preset $preset: must be full or tiny" >&2 && exit 2 ;; esac
models=${models:-out/gpu-models-$preset-$lm}
mkdir -p "$out"
report=$out/report.txt
log() { printf '[check] %s\n' "$*" | tee -a "$out/steps.txt" >&2; }
: >"$out/steps.txt"
started=$SECONDS

# Node: the bundle's binary (acestep-runtime.tar.xz unpacks .gpu-runtime/), else the PATH's.
node=$root/.gpu-runtime/bin/node
[ -x "$node" ] || node=$(command -v node || true)
[ -n "$node" ] || { log "no Node: unpack acestep-runtime.tar.xz (tools/gpu/bundle.sh) into $root" && exit 1; }
log "node $("$node" --version) ($node)"

# WebGPU in onnxruntime-node is Dawn on Vulkan: it needs libvulkan.so.1 and a driver's ICD file.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
if [ "$device" = webgpu ] || [[ $device == webgpu:* ]]; then
  if [ -n "${ACESTEP_CHECK_BUNDLED_VULKAN:-}" ] || ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
    deb=$(ls "$root"/.gpu-runtime/deb/libvulkan1_*.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || { log "no bundled libvulkan1 .deb in .gpu-runtime/deb (tools/gpu/bundle.sh) to load Vulkan from" && exit 1; }
    vulkan=$root/.gpu-runtime/vulkan
    mkdir -p "$vulkan"
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$vulkan"
    else # a .deb is an ar archive holding data.tar.*
      (cd "$vulkan" && ar x "$deb" && tar -xf data.tar.* && rm -f data.tar.* control.tar.* debian-binary)
    fi
    export LD_LIBRARY_PATH=$vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    log "Vulkan loader: $(basename "$deb") unpacked into $vulkan"
  else
    log "Vulkan loader: the machine's ($(ldconfig -p | grep -m1 'libvulkan\.so\.1 ' | sed 's/.*=> //'))"
  fi
  if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
    for icd in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
      /usr/local/share/vulkan/icd.d/nvidia_icd*.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json \
      /usr/local/nvidia/icd.d/nvidia_icd*.json; do
      [ -f "$icd" ] || continue
      export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd
      # A driver mounted under /usr/local/nvidia (containers) keeps the library its ICD file
      # names (libGLX_nvidia.so.0) beside it, outside the linker's default paths.
      for lib in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
        [[ $icd == /usr/local/nvidia/* && -d $lib ]] && export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      done
      break
    done
  fi
  if [ -n "${VK_ICD_FILENAMES:-${VK_DRIVER_FILES:-}}" ]; then
    log "Vulkan ICD: ${VK_ICD_FILENAMES:-$VK_DRIVER_FILES}"
  else
    log "Vulkan ICD: no NVIDIA ICD file found; the loader searches its default paths:" \
      "$(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | grep json | tr '\n' ' ')"
  fi
fi
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
gpu=${gpu:-"no nvidia-smi (CPU $(grep -m1 "model name" /proc/cpuinfo | sed "s/.*: //"))"}
log "GPU: $gpu"

# A WebGPU session that runs, before minutes go into the export.
if ! "$node" tools/gpu/probe.ts "$device" 2>&1 | tee -a "$out/steps.txt" >&2; then
  log "the probe of device $device failed (above: why); nothing was measured"
  { echo "acestep GPU check: device $device unusable on $gpu" && cat "$out/steps.txt"; } >"$report"
  exit 3
fi
$probe_only && log "probe only: stopping here" && exit 0

# The random model set (cached: a manifest.json means a finished export).
if [ ! -f "$models/manifest.json" ]; then
  python=
  for p in "${PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$p" ] && "$p" -c 'import torch, onnx' 2>/dev/null && python=$p && break
  done
  [ -n "$python" ] || { log "no Python with torch and onnx (set PYTHON)" && exit 1; }
  log "exporting the random $preset set (LM $lm) into $models with $python"
  t0=$SECONDS
  rm -rf "$models.partial"
  "$python" tools/export/export.py --random --preset "$preset" --lm "$lm" --out "$models.partial" >&2
  mv "$models.partial" "$models"
  log "export took $((SECONDS - t0)) s ($(du -sh "$models" | cut -f1))"
else
  log "model set: $models (already exported)"
fi

"$node" tools/gpu/check.ts --models "$models" --device "$device" --seconds "$seconds" \
  --warmup-seconds "$warmup" --out "$out" --report "$report" --gpu "$gpu"
log "check finished in $((SECONDS - started)) s; report: $report"
cat "$out/steps.txt" >>"$report"
