#!/bin/sh
# Prepares one model set on the shared volume, once: $MODELS_ROOT/$MODEL_SET.
#   - $SOURCE_DIR/$MODEL_SET/manifest.json exists: copy that already converted set;
#   - otherwise: run the exporter with $EXPORT_ARGS (e.g. --checkpoint /source
#     --preset full --variant turbo --lm 1.7B, or --random --preset tiny).
# The set is built under a temporary name and renamed when complete, so a stage
# that sees $MODELS_ROOT/$MODEL_SET/manifest.json sees a whole set. Idempotent.
set -eu
: "${MODEL_SET:?MODEL_SET names the set, e.g. turbo-1.7b}"
MODELS_ROOT=${MODELS_ROOT:-/models}
SOURCE_DIR=${SOURCE_DIR:-/source}
EXPORT_ARGS=${EXPORT_ARGS:-}
EXPORTER=${EXPORTER:-/app/tools/export/export.py} # the image's exporter; tests point it at the repo's

case "$MODEL_SET" in
  '' | .* | *[!A-Za-z0-9._-]*) echo "MODEL_SET=\"$MODEL_SET\" must be a plain directory name" >&2; exit 2 ;;
esac

target="$MODELS_ROOT/$MODEL_SET"
partial="$MODELS_ROOT/.partial-$MODEL_SET"
if [ -f "$target/manifest.json" ]; then
  echo "model set $MODEL_SET is ready in $target"
  exit 0
fi

rm -rf "$partial"
if [ -f "$SOURCE_DIR/$MODEL_SET/manifest.json" ]; then
  echo "copying the converted set $SOURCE_DIR/$MODEL_SET"
  cp -R "$SOURCE_DIR/$MODEL_SET" "$partial"
else
  [ -n "$EXPORT_ARGS" ] || { echo "no $SOURCE_DIR/$MODEL_SET/manifest.json and no EXPORT_ARGS" >&2; exit 2; }
  echo "exporting: export.py $EXPORT_ARGS --out $partial"
  set -f # EXPORT_ARGS is split into words, never globbed
  # shellcheck disable=SC2086
  /usr/bin/python3 "$EXPORTER" $EXPORT_ARGS --out "$partial"
  set +f
fi

[ -f "$partial/manifest.json" ] || { echo "$partial has no manifest.json: not a model set" >&2; exit 1; }
rm -rf "$target"
mv "$partial" "$target"
echo "model set $MODEL_SET is ready in $target"
