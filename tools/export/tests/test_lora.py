"""LoRA merge: scale 0 is the base model bit for bit, scale S equals peft's un-merged forward."""

import copy
import os
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from lora_adapter import hook_lora, write_adapter  # noqa: E402

from acestep_export import lora, weights  # noqa: E402
from acestep_export.acestep import AceStepModel  # noqa: E402
from acestep_export.config import TINY  # noqa: E402


def tiny_ace():
    torch.manual_seed(0)
    ace = AceStepModel(TINY.dit)
    weights.random_init(ace, 99)
    return ace.eval()


def dit_inputs():
    g = torch.Generator().manual_seed(5)
    return (
        torch.randn(2, 23, 64, generator=g),
        torch.tensor([0.9, 0.4]),
        torch.randn(2, 11, TINY.dit.enc.hidden, generator=g),
        torch.randn(2, 23, 128, generator=g),
    )


class LoraMerge(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.base = tiny_ace()

    def merged(self, folder, scale):
        ace = copy.deepcopy(self.base)
        lora.merge_lora(ace, folder, scale)
        return ace

    def test_scale_zero_is_the_base_model(self):
        folder = os.path.join(self.tmp.name, "a")
        write_adapter(folder, self.base.decoder)
        ace = self.merged(folder, 0.0)
        for k, v in self.base.state_dict().items():
            self.assertTrue(torch.equal(v, ace.state_dict()[k]), k)

    def check_against_peft_forward(self, folder, pairs, scale, scaling):
        ace = self.merged(folder, scale)
        ref = copy.deepcopy(self.base)
        hook_lora(ref.decoder, pairs, scale * scaling)
        with torch.no_grad():
            got = ace.decoder(*dit_inputs())
            want = ref.decoder(*dit_inputs())
            base = self.base.decoder(*dit_inputs())
        self.assertLessEqual((got - want).abs().max().item(), 1e-5)
        self.assertGreater((got - base).abs().max().item(), 1e-3)  # the adapter does something

    def test_scale_one_equals_peft_forward(self):
        folder = os.path.join(self.tmp.name, "b")
        pairs = write_adapter(folder, self.base.decoder, r=4, alpha=8)
        self.check_against_peft_forward(folder, pairs, 1.0, 8 / 4)

    def test_partial_scale_and_rslora(self):
        folder = os.path.join(self.tmp.name, "c")
        pairs = write_adapter(folder, self.base.decoder, r=4, alpha=6, rslora=True)
        self.check_against_peft_forward(folder, pairs, 0.5, 6 / 2)

    def test_rank_and_alpha_patterns(self):
        folder = os.path.join(self.tmp.name, "d")
        write_adapter(folder, self.base.decoder, r=4, alpha=8, extra_cfg={"alpha_pattern": {"mlp.down_proj": 2}})
        cfg, _ = lora.read_adapter(folder)
        self.assertEqual(lora.scaling(cfg, "layers.1.mlp.down_proj"), 0.5)
        self.assertEqual(lora.scaling(cfg, "layers.1.self_attn.q_proj"), 2.0)

    def test_refusals_name_the_problem(self):
        folder = os.path.join(self.tmp.name, "e")
        write_adapter(folder, self.base.decoder, extra_cfg={"use_dora": True})
        with self.assertRaises(SystemExit) as ctx:
            self.merged(folder, 1.0)
        self.assertIn("DoRA", str(ctx.exception))
        with self.assertRaises(SystemExit) as ctx:
            self.merged(os.path.join(self.tmp.name, "missing"), 1.0)
        self.assertIn("adapter_config.json", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
