"""The official DiT variants: checkpoint folder, architecture and the sampling defaults the
manifest records (docs/model-contract.md, "DiT variants").

Every 2B variant shares one architecture (hidden 2048, 24 layers); they differ in training and
in how they are sampled. The XL variants widen the DiT (hidden 2560, 32 layers, 32 heads, MLP
9728) while the condition encoder, the audio tokenizer/detokenizer and the null condition keep
the 2B widths (encoder_hidden_size 2048); the DiT's condition_embedder maps 2048 -> 2560.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str  # official folder suffix: checkpoints/acestep-v15-<name>
    family: str  # sampling family: "turbo" (fixed 8-step tables, no CFG) | "sft" | "base" (CFG)
    xl: bool
    default_steps: int
    default_shift: float
    # Turbo: the shifts a request may pick; a listed set means "round to the nearest of these"
    # (the official turbo file's behaviour), None means any value in [shift_min, shift_max].
    shifts: tuple
    shift_min: float = 1.0
    shift_max: float = 5.0
    guidance: bool = False
    default_guidance_scale: float = 7.0
    doc: str = ""

    def manifest(self):
        return {
            "name": self.name,
            "family": self.family,
            "size": "XL" if self.xl else "2B",
            "defaultSteps": self.default_steps,
            "defaultShift": self.default_shift,
            "shifts": list(self.shifts) if self.shifts is not None else None,
            "shiftRange": [self.shift_min, self.shift_max],
            "guidance": self.guidance,
            "defaultGuidanceScale": self.default_guidance_scale if self.guidance else None,
            "doc": self.doc,
        }


_TURBO_SHIFTS = (1, 2, 3)

VARIANTS = {
    v.name: v
    for v in (
        Variant("turbo", "turbo", False, 8, 3.0, _TURBO_SHIFTS, doc="distilled on shifts 1/2/3; requests pick one"),
        Variant("turbo-shift1", "turbo", False, 8, 1.0, _TURBO_SHIFTS, doc="turbo tuned at shift 1"),
        Variant("turbo-shift3", "turbo", False, 8, 3.0, _TURBO_SHIFTS, doc="turbo tuned at shift 3"),
        Variant(
            "turbo-continuous",
            "turbo",
            False,
            8,
            3.0,
            None,
            doc="turbo with a continuous shift in [1, 5]: 8 steps t = 1 - i/8 shifted by the formula, no rounding",
        ),
        Variant("sft", "sft", False, 32, 3.0, None, guidance=True, doc="supervised fine-tune, CFG (APG)"),
        Variant("base", "base", False, 32, 3.0, None, guidance=True, doc="base model: all six tasks, CFG (APG)"),
        Variant("xl-turbo", "turbo", True, 8, 3.0, _TURBO_SHIFTS, doc="XL DiT (hidden 2560), turbo"),
        Variant("xl-sft", "sft", True, 32, 3.0, None, guidance=True, doc="XL DiT, supervised fine-tune"),
        Variant("xl-base", "base", True, 32, 3.0, None, guidance=True, doc="XL DiT, base"),
    )
}


def variant(name):
    if name not in VARIANTS:
        raise SystemExit(f"unknown DiT variant {name!r}; known: {', '.join(VARIANTS)}")
    return VARIANTS[name]
