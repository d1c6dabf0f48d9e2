// The checkpoint download of the model Job (deploy/docker/fetch-checkpoints.py)
// against a local fake Hub: an HTTP server that serves a fake checkpoint
// directory through the two Hub endpoints the script uses (tree listing with
// hashes, resolve), paged like the Hub and requiring the token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../docker/fetch-checkpoints.py', import.meta.url));
const REPO = 'ACE-Step/Ace-Step1.5';
const TOKEN = 'hf_test_token';

/** The fake checkpoint: LFS weights (sha256) and small git files (blob sha1). */
const FILES: Record<string, { data: Buffer; lfs: boolean }> = {
  'acestep-v15-turbo/model.safetensors': { data: randomBytes(300_000), lfs: true },
  'vae/diffusion_pytorch_model.safetensors': { data: randomBytes(120_000), lfs: true },
  'acestep-v15-turbo/config.json': { data: Buffer.from('{"hidden_size": 8}\n'), lfs: false },
  'README.md': { data: Buffer.from('# fake checkpoint\n'), lfs: false },
};

function entry(path: string) {
  const { data, lfs } = FILES[path]!;
  const gitOid = createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
  return lfs
    ? {
        type: 'file',
        path,
        size: 134,
        oid: gitOid,
        lfs: { oid: createHash('sha256').update(data).digest('hex'), size: data.length },
      }
    : { type: 'file', path, size: data.length, oid: gitOid };
}

describe('fetch-checkpoints.py against a local fake Hub', () => {
  let server: Server;
  let endpoint = '';
  let dir = '';
  const downloads: string[] = [];
  let corrupt = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acestep-fetch-'));
    server = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401).end();
      const url = new URL(req.url ?? '/', 'http://x');
      const paths = Object.keys(FILES).sort();
      if (url.pathname === `/api/models/${REPO}/tree/v1`) {
        // Two pages, linked like the Hub does.
        const page = url.searchParams.get('cursor') === '2' ? paths.slice(2) : paths.slice(0, 2);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (!url.searchParams.get('cursor'))
          headers.link = `<${endpoint}${url.pathname}?recursive=true&cursor=2>; rel="next"`;
        return res
          .writeHead(200, headers)
          .end(JSON.stringify([{ type: 'directory', path: 'vae' }, ...page.map(entry)]));
      }
      const prefix = `/${REPO}/resolve/v1/`;
      if (url.pathname.startsWith(prefix)) {
        const path = decodeURIComponent(url.pathname.slice(prefix.length));
        const file = FILES[path];
        if (!file) return res.writeHead(404).end();
        downloads.push(path);
        const body = path === corrupt ? Buffer.concat([file.data.subarray(1), Buffer.from('x')]) : file.data;
        return res.writeHead(200).end(body);
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (env: Record<string, string>) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('python3', [SCRIPT], {
        env: {
          PATH: process.env.PATH ?? '',
          HF_ENDPOINT: endpoint,
          HF_REPOS: `${REPO}@v1`,
          CHECKPOINT_DIR: dir,
          ...env,
        },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
    });

  it('downloads every file of every page, verified, and a rerun downloads nothing', async () => {
    const first = await run({ HF_TOKEN: TOKEN });
    assert.equal(first.code, 0, first.out);
    for (const [path, { data }] of Object.entries(FILES))
      assert.deepEqual(await readFile(join(dir, path)), data, path);
    assert.equal(downloads.length, 4);
    const again = await run({ HF_TOKEN: TOKEN });
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /0 fetched, 4 already present, all verified/);
    assert.equal(downloads.length, 4, 'nothing is downloaded again');
  });

  it('re-fetches a damaged file, refuses a mismatch and keeps no partial file', async () => {
    const weights = 'acestep-v15-turbo/model.safetensors';
    await writeFile(join(dir, weights), 'damaged');
    corrupt = weights;
    const bad = await run({ HF_TOKEN: TOKEN });
    assert.equal(bad.code, 1);
    assert.match(
      bad.out,
      /acestep-v15-turbo\/model\.safetensors: sha256 [0-9a-f]{64} \(300000 bytes\) does not match/,
    );
    assert.deepEqual(
      (await readdir(join(dir, 'acestep-v15-turbo'))).filter((n) => n.endsWith('.part')),
      [],
    );
    corrupt = '';
    const fixed = await run({ HF_TOKEN: TOKEN });
    assert.equal(fixed.code, 0, fixed.out);
    assert.match(fixed.out, /1 fetched, 3 already present/);
    assert.deepEqual(await readFile(join(dir, weights)), FILES[weights]!.data);
  });

  it('reads the token from a file, and explains a refused token', async () => {
    const tokenFile = join(dir, '..', `token-${process.pid}`);
    await mkdir(dirname(tokenFile), { recursive: true });
    await writeFile(tokenFile, `${TOKEN}\n`);
    try {
      assert.equal((await run({ HF_TOKEN_FILE: tokenFile })).code, 0);
    } finally {
      await rm(tokenFile, { force: true });
    }
    const refused = await run({ HF_TOKEN: 'wrong' });
    assert.equal(refused.code, 1);
    assert.match(refused.out, /HTTP 401 \(set HF_TOKEN: the repo is gated or private\)/);
  });
});
