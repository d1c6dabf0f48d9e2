// A model set whose manifest disagrees with its ONNX files must be refused, with an error
// that names the graph and the tensor. The tampered sets are the real tiny files plus an
// edited manifest in a temporary directory.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ContractError } from './contract.ts';
import { type GraphName, type Manifest, ManifestError } from './manifest.ts';
import { openModelSet } from './modelSet.ts';
import { requireModelDir } from './paths.ts';

const dir = requireModelDir();
const original = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const temps: string[] = [];

async function tamperedSet(edit: (m: Manifest) => void): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), 'acestep-models-'));
  temps.push(tmp);
  for (const f of await readdir(dir)) {
    if (f !== 'manifest.json') await symlink(join(dir, f), join(tmp, f));
  }
  const m = structuredClone(original);
  edit(m);
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify(m));
  return tmp;
}

async function refusal(set: string, graph: GraphName): Promise<Error> {
  try {
    const opened = await openModelSet(set, { graphs: [graph] });
    await opened.close();
  } catch (err) {
    return err as Error;
  }
  assert.fail(`graph ${graph} was accepted`);
}

describe('contract check at load', () => {
  after(async () => {
    await Promise.all(temps.map((t) => rm(t, { recursive: true })));
  });

  it('accepts the untouched set', async () => {
    const set = await openModelSet(dir, { graphs: ['dit_step', 'vae_decoder'], verifyHashes: true });
    assert.ok(set.session('dit_step'));
    await set.close();
  });

  it('refuses a renamed input, naming graph and tensor', async () => {
    const set = await tamperedSet((m) => {
      m.graphs.dit_step.inputs[0]!.name = 'x_t';
    });
    const err = await refusal(set, 'dit_step');
    assert.ok(err instanceof ContractError);
    assert.match(err.message, /graph dit_step, tensor x_t: input is missing/);
  });

  it('refuses a wrong rank, naming graph and tensor', async () => {
    const set = await tamperedSet((m) => {
      m.graphs.vae_decoder.inputs[0]!.dims = ['batch', 'frames'];
    });
    const err = await refusal(set, 'vae_decoder');
    assert.ok(err instanceof ContractError);
    assert.match(err.message, /graph vae_decoder, tensor latents: input rank is 3/);
  });

  it('refuses a wrong dtype on an output', async () => {
    const set = await tamperedSet((m) => {
      m.graphs.audio_tokenizer.outputs[0]!.dtype = 'float32';
    });
    const err = await refusal(set, 'audio_tokenizer');
    assert.match(err.message, /graph audio_tokenizer, tensor audio_codes: output dtype is int64/);
  });

  it('refuses a wrong fixed size', async () => {
    const set = await tamperedSet((m) => {
      m.graphs.lm_prefill.outputs[0]!.dims = ['batch', 151669];
    });
    const err = await refusal(set, 'lm_prefill');
    assert.match(err.message, /graph lm_prefill, tensor logits: output dim 1 is 217204/);
  });

  it('refuses another contract major version', async () => {
    const set = await tamperedSet((m) => {
      m.contractVersion = '2.0.0';
    });
    const err = await refusal(set, 'dit_step');
    assert.ok(err instanceof ManifestError);
    assert.match(err.message, /contract version 2\.0\.0 is not supported/);
  });

  it('refuses a weights file whose hash differs when asked to verify', async () => {
    const set = await tamperedSet((m) => {
      m.graphs.dit_step.weights!.sha256 = '0'.repeat(64);
    });
    await assert.rejects(
      openModelSet(set, { graphs: ['dit_step'], verifyHashes: true }),
      /graph dit_step: dit_step.weights sha256/,
    );
  });
});
