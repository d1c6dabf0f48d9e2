#!/usr/bin/env bash
# Fails when packages/proto/src/gen is not what `buf generate` makes from proto/.
# Also reports `buf breaking` against the previous commit (informational until
# the first release: see docs/contracts.md).
set -euo pipefail
cd "$(dirname "$0")/.."

pnpm exec buf generate
if ! git diff --quiet -- packages/proto/src/gen || [ -n "$(git ls-files --others --exclude-standard packages/proto/src/gen)" ]; then
  echo "generated code is stale: run 'pnpm generate:proto' and commit packages/proto/src/gen" >&2
  git status --short packages/proto/src/gen >&2
  exit 1
fi
echo "generated code is up to date"

if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:proto 2>/dev/null; then
  if pnpm exec buf breaking --against '.git#ref=HEAD~1,subdir=proto' proto; then
    echo "buf breaking: no breaking change against the previous commit"
  else
    echo "buf breaking: the changes above break wire compatibility (reported, not enforced before v1.0)"
  fi
fi
