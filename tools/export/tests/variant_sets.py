#!/usr/bin/python3
"""Tiny random-weight sets of every official DiT variant besides turbo (CI's variant parity).

  /usr/bin/python3 tools/export/tests/variant_sets.py OUT_DIR

The 2B variants share turbo's architecture, so each exports `dit_step` (with parity fixtures)
and a manifest stating its variant and sampling defaults; the XL variant, whose DiT is wider than
its encoders, exports all four DiT-checkpoint graphs. The tiny turbo set itself is
models/tiny (scripts/setup.sh). `lora` is turbo with a PEFT adapter (tests/lora_adapter.py)
merged at scale 1; its dit_step fixtures are the merged torch module, which test_lora.py
checks against peft's un-merged forward.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.join(os.path.dirname(HERE), "export.py")
SETS = {
    "turbo-shift1": "dit_step",
    "turbo-shift3": "dit_step",
    "turbo-continuous": "dit_step",
    "sft": "dit_step",
    "base": "dit_step",
    "xl-turbo": "condition_encoder,dit_step,audio_tokenizer,audio_detokenizer",
}


def export(out, name, variant, graphs, extra=()):
    subprocess.run(
        [sys.executable, EXPORT, "--random", "--preset", "tiny", "--variant", variant, "--graphs", graphs,
         "--parity-fixtures", "--out", os.path.join(out, name), *extra],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main(out):
    for name, graphs in SETS.items():
        export(out, name, name, graphs)
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.dirname(HERE))
    from lora_adapter import write_adapter

    from acestep_export.acestep import AceStepModel
    from acestep_export.config import TINY

    adapter = os.path.join(out, "lora-adapter")
    write_adapter(adapter, AceStepModel(TINY.dit).decoder)
    export(out, "lora", "turbo", "dit_step", ("--lora", adapter, "--lora-scale", "1"))


if __name__ == "__main__":
    main(sys.argv[1])
