"""LM checkpoint loading: both key spellings, sharded files, tied/untied heads (unittest).

Run: /usr/bin/python3 -m unittest discover -s tools/export/tests (CI runs it from
packages/models/src/conversion.test.ts).
"""

import os
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import lm_checkpoints as lc  # noqa: E402
from acestep_export import weights  # noqa: E402
from acestep_export.config import TINY  # noqa: E402
from acestep_export.qwen3 import Qwen3ForCausalLM  # noqa: E402


def convert(root):
    cfg = weights.lm_config(os.path.join(root, "checkpoints"), lc.LM_SIZE, TINY.lm)
    lm = Qwen3ForCausalLM(cfg)
    weights.load_lm(os.path.join(root, "checkpoints"), lc.LM_SIZE, lm)
    return lm.eval()


class LmLoading(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def check_layout(self, layout, expect_tied):
        root = os.path.join(self.tmp.name, layout)
        cfg, sd = lc.write_layout(root, layout)
        lm = convert(root)
        self.assertEqual(lm.cfg.tie_word_embeddings, expect_tied)
        ids = lc.reference_ids()
        with torch.no_grad():
            ours, _ = lm.step(ids, torch.ones_like(ids), None)
            ref = lc.reference_logits(cfg, sd, ids)
        self.assertLessEqual((ours - ref).abs().max().item(), 1e-4)
        return lm

    def test_prefixed_tied(self):
        self.check_layout("prefixed", True)

    def test_keys_without_model_prefix(self):
        self.check_layout("noprefix", True)

    def test_sharded_bf16(self):
        self.check_layout("sharded", True)

    def test_untied_head(self):
        lm = self.check_layout("untied", False)
        self.assertIn("lm_head.weight", lm.state_dict())

    def test_untied_config_with_equal_tensors_is_stored_once(self):
        lm = self.check_layout("tiedcopy", True)
        self.assertNotIn("lm_head.weight", lm.state_dict())

    def test_tied_config_with_different_head_is_refused(self):
        root = os.path.join(self.tmp.name, "bad")
        cfg, sd = lc.write_layout(root, "untied")
        folder = os.path.join(root, "checkpoints", f"acestep-5Hz-lm-{lc.LM_SIZE}")
        cfg["tie_word_embeddings"] = True
        with open(os.path.join(folder, "config.json"), "w") as f:
            import json

            json.dump(cfg, f)
        with self.assertRaises(SystemExit) as ctx:
            convert(root)
        self.assertIn("lm_head.weight differs", str(ctx.exception))

    def test_untied_config_without_head_is_refused(self):
        root = os.path.join(self.tmp.name, "nohead")
        cfg, _ = lc.write_layout(root, "prefixed")
        folder = os.path.join(root, "checkpoints", f"acestep-5Hz-lm-{lc.LM_SIZE}")
        cfg["tie_word_embeddings"] = False
        with open(os.path.join(folder, "config.json"), "w") as f:
            import json

            json.dump(cfg, f)
        with self.assertRaises(SystemExit) as ctx:
            convert(root)
        self.assertIn("no lm_head.weight", str(ctx.exception))

    def test_missing_shard_is_named(self):
        root = os.path.join(self.tmp.name, "holes")
        lc.write_layout(root, "sharded")
        folder = os.path.join(root, "checkpoints", f"acestep-5Hz-lm-{lc.LM_SIZE}")
        os.remove(os.path.join(folder, "model-00002-of-00003.safetensors"))
        with self.assertRaises(SystemExit) as ctx:
            convert(root)
        self.assertIn("model-00002-of-00003.safetensors is missing", str(ctx.exception))


class OfficialLmSizes(unittest.TestCase):
    """The three official LM configs (documented in docs/model-contract.md) map onto the
    preset table the exporter falls back to when a folder has no config.json."""

    def test_configs(self):
        from acestep_export.config import FULL_LMS, qwen_cfg_from_hf

        docs = {
            "0.6B": (1024, 3072, 16, 28),
            "1.7B": (2048, 6144, 16, 28),
            "4B": (2560, 9728, 32, 36),
        }
        for size, (hidden, inter, heads, layers) in docs.items():
            hf = {
                "hidden_size": hidden,
                "intermediate_size": inter,
                "num_attention_heads": heads,
                "num_key_value_heads": 8,
                "head_dim": 128,
                "num_hidden_layers": layers,
                "vocab_size": 217204,
                "rms_norm_eps": 1e-6,
                "rope_theta": 1000000,
                "tie_word_embeddings": True,
            }
            self.assertEqual(qwen_cfg_from_hf(hf), FULL_LMS[size], size)


if __name__ == "__main__":
    unittest.main()
