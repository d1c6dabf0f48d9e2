#!/usr/bin/env bash
# Prints one sha256 per generated file for a fixed set of configs (all six tasks, LM on and
# off, turbo and base DiT), so a refactor can show "same audio for the same seed and config"
# by diffing this script's output before and after. Starts its own stacks on free ports.
#   usage: scripts/audio-hashes.sh [OUT_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
out_file=${1:-/dev/stdout}
work=$(mktemp -d)
serve_pid=
stop() { [ -n "$serve_pid" ] && { kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null || true; }; serve_pid=; }
trap 'stop; rm -rf "$work"' EXIT

start() { # model dir
  port=$((20000 + RANDOM % 20000))
  node packages/cli/src/main.ts serve --port "$port" --metrics-port $((port + 1)) --playground off \
    --model-dir "$1" --data-dir "$work/data-$port" >"$work/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 240); do # `serve` prints its summary line once all four are serving
    grep -q 'Ctrl-C stops all four' "$work/serve.log" && return
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.5
  done
  cat "$work/serve.log" >&2
  exit 1
}
gen() { # name, then generate flags
  local name=$1
  shift
  node packages/cli/src/main.ts generate --url "127.0.0.1:$port" --progress none \
    --audio_format wav --no-use_random_seed --seed 42 --out "$work/$name" "$@" >/dev/null
}

# The tiny set's base variant: same graphs and weights, only the manifest's variant differs.
base="$work/tiny-base"
mkdir -p "$base"
for f in models/tiny/*; do [ "$(basename "$f")" = manifest.json ] || ln -s "$PWD/$f" "$base/"; done
python3 - "$base/manifest.json" <<'PY'
import json, sys
m = json.load(open("models/tiny/manifest.json"))
m["variant"].update(dit="base", ditFamily="base")
m["variant"]["ditDefaults"] = dict(m["variant"]["ditDefaults"], name="base", family="base",
    defaultSteps=32, defaultShift=3, shifts=None, shiftRange=[1, 5], guidance=True, defaultGuidanceScale=7)
json.dump(m, open(sys.argv[1], "w"))
PY

start models/tiny
gen t2m --caption "calm piano" --audio_duration 10 --batch_size 2
gen t2m_lm --caption "rock song" --lyrics "[verse] hello" --audio_duration 10 --use_llm_thinking
src=$(ls "$work/t2m"/*.wav | head -1)
gen cover --task_type cover --src_audio "$src" --caption "jazz" --audio_cover_strength 0.6
gen repaint --task_type repaint --src_audio "$src" --caption "jazz" --repainting_start 2 --repainting_end 6
stop

start "$base"
gen base_cfg --caption "slow strings" --audio_duration 10 --inference_steps 8 --guidance_scale 5
gen lego --task_type lego --src_audio "$src" --caption "drums" --inference_steps 8 \
  --instruction "Generate the DRUMS track based on the audio context:"
gen extract --task_type extract --src_audio "$src" --inference_steps 8 \
  --instruction "Extract the VOCALS track from the audio:"
gen complete --task_type complete --src_audio "$src" --caption "full band" --inference_steps 8 \
  --instruction "Complete the input track with DRUMS, BASS:"
stop
(cd "$work" && find . -name '*.wav' | sort | xargs sha256sum) >"$out_file"
