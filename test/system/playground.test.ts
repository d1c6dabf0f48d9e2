// The web playground in a real browser: headless Chromium (the Debian
// package) driven by playwright-core against four real service processes.
// A person's path: API key, text2music with live progress, play and download
// the result, repaint an uploaded file on a selected range, chain a repaint on
// a result, queue jobs, re-open one, cancel a running one.
// The screenshot of the finished page goes to out/playground.png, and to
// docs/img/playground.png with UPDATE_SCREENSHOT=1.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import { buildPlayground } from '@acestep/playground/build';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const REPO = new URL('../../', import.meta.url).pathname;
const API_KEY = 'playground-test-key';
const GENERATION_TIMEOUT = 180_000;

/** What the test uses of the page's <audio> (the test itself is typed without the DOM). */
interface AudioElement {
  duration: number;
  currentTime: number;
  dataset: Record<string, string | undefined>;
  play(): Promise<void>;
  addEventListener(type: string, listener: (event: unknown) => void, options?: { once: boolean }): void;
}

describe('web playground in headless Chromium', () => {
  let stack: Stack;
  let dir: string;
  let browser: BrowserContext;
  let page: Page;
  let base: string;
  const pageErrors: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acestep-playground-'));
    await buildPlayground();
    stack = await launchStack({
      gatewayArgs: ['--job-concurrency', '1', '--data-dir', join(dir, 'data'), '--api-key', API_KEY],
    });
    base = `http://${stack.gateway.address}/`;
    browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(GENERATION_TIMEOUT);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const text = async (selector: string) => (await page.textContent(selector)) ?? '';

  /** Clicks Generate and waits until the stream ended with `count` results shown. */
  async function generateAndWait(count: number): Promise<void> {
    await page.click('button.primary');
    await page.waitForSelector('.progress[data-status="running"]');
    await page.waitForSelector('.progress[data-status="done"], .progress[data-status="failed"]');
    assert.equal(await page.getAttribute('.progress', 'data-status'), 'done', await text('.left'));
    await page.waitForFunction(`document.querySelectorAll('.result').length === ${count}`);
  }

  it('is served at / and the API key from local storage opens the API', async () => {
    const res = await page.goto(base);
    assert.equal(res?.status(), 200);
    assert.equal(await page.title(), 'ACE-Step playground');
    // Without the key the jobs view says what is missing.
    await page.waitForSelector('.jobs .problem');
    assert.match(await text('.jobs .problem'), /API key/);
    await page.fill('input[name="api_key"]', API_KEY);
    await page.reload();
    assert.equal(await page.inputValue('input[name="api_key"]'), API_KEY);
    await page.waitForSelector('.jobs .hint');
  });

  it("a bad value gets the gateway's message naming the field", async () => {
    await page.fill('input[name="bpm"]', '999');
    await page.click('button.primary');
    await page.waitForSelector('.left .problem');
    assert.match(await text('.left .problem'), /bpm/);
    assert.equal(await page.getAttribute('.progress', 'data-status'), 'failed');
    await page.fill('input[name="bpm"]', '');
  });

  it('text2music: progress to the end, a player whose duration matches, a download', async () => {
    await page.fill('textarea[name="caption"]', 'warm lo-fi piano, rain outside');
    await page.fill('textarea[name="lyrics"]', '[verse]\nsoft lights on the water\n[chorus]\nstay a while');
    await page.fill('input[name="audioDuration"]', '10');
    await page.fill('input[name="seed"]', '7');
    await page.selectOption('select[name="format"]', 'wav');
    // The LM plans too: its metadata and audio codes stream in before the DiT.
    await page.click('details.advanced summary');
    await page.check('input[name="useLlmThinking"]');
    await generateAndWait(1);
    assert.ok(await page.$('.progress .metadata'), 'the LM metadata is shown');
    for (const stage of ['LM_AUDIO_CODES', 'DIT', 'ENCODING']) {
      const row = await page.$(`.stage[data-stage="${stage}"]`);
      assert.ok(row, `${stage} progress shown`);
      const step = await row.getAttribute('data-step');
      assert.equal(step, await row.getAttribute('data-total'), `${stage} reached its last step`);
    }
    const item = page.locator('.result .item').first();
    assert.equal(await item.getAttribute('data-seed'), '7');
    const audio = item.locator('audio');
    await audio.waitFor();
    const played = await audio.evaluate(async (el: AudioElement) => {
      if (Number.isNaN(el.duration))
        await new Promise((r) => el.addEventListener('loadedmetadata', r, { once: true }));
      await el.play();
      await new Promise((r) => el.addEventListener('timeupdate', r, { once: true }));
      return { duration: el.duration, expected: Number(el.dataset.expectedDuration), time: el.currentTime };
    });
    assert.ok(Math.abs(played.duration - played.expected) < 0.05, JSON.stringify(played));
    assert.ok(Math.abs(played.duration - 10) < 0.05, `a 10 s song: ${played.duration}`);
    assert.ok(played.time > 0, 'the audio plays');

    const [download] = await Promise.all([page.waitForEvent('download'), item.locator('a.button').click()]);
    assert.equal(download.suggestedFilename(), '1-7.wav');
    const saved = join(dir, '1-7.wav');
    await download.saveAs(saved);
    const sha = createHash('sha256')
      .update(await readFile(saved))
      .digest('hex');
    assert.equal(sha, await item.getAttribute('data-sha256'));
  });

  it('repaint: an uploaded file, its waveform, a range dragged on it', async () => {
    await page.uncheck('input[name="useLlmThinking"]');
    await page.selectOption('select[name="task"]', 'repaint');
    await page.setInputFiles('input[name="src_audio"]', join(dir, '1-7.wav'));
    const canvas = page.locator('.source[data-source="src_audio"] canvas');
    await canvas.waitFor();
    assert.match(await text('.source[data-source="src_audio"] .source-name'), /1-7\.wav · 10\.0 s/);
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    assert.equal(await page.inputValue('input[name="repaintingStart"]'), '2.5');
    assert.equal(await page.inputValue('input[name="repaintingEnd"]'), '7.5');
    await generateAndWait(2);
    assert.equal(await page.locator('.result').first().getAttribute('data-success'), 'true');
  });

  it('"Repaint this" chains a repaint on a result', async () => {
    await page.locator('.result').first().locator('.item button', { hasText: 'Repaint this' }).click();
    assert.equal(await page.inputValue('select[name="task"]'), 'repaint');
    await page.waitForSelector('.source[data-source="src_audio"] canvas');
    assert.match(await text('.source[data-source="src_audio"] .source-name'), /^result 1-/);
    await generateAndWait(3);
    assert.equal(await page.locator('.result').first().getAttribute('data-success'), 'true');
  });

  it('jobs: queue one and re-open its result, cancel a running one', async () => {
    await page.selectOption('select[name="task"]', 'text2music');
    await page.fill('input[name="seed"]', '11');
    await page.click('button:has-text("Queue as job")');
    const done = page.locator('.jobs tr[data-state="succeeded"]').first();
    await done.waitFor();
    const id = await done.getAttribute('data-job-id');
    await done.locator('button', { hasText: 'Open' }).click();
    await page.waitForSelector(`.result h3:has-text("Job ${id}")`);
    assert.equal(
      await page.locator('.result').first().locator('.item').first().getAttribute('data-seed'),
      '11',
    );

    // A long job: 240 s, four items.
    await page.fill('input[name="audioDuration"]', '240');
    await page.fill('input[name="batchSize"]', '4');
    await page.click('button:has-text("Queue as job")');
    const running = page.locator('.jobs tr[data-state="running"]');
    await running.waitFor();
    const runningId = await running.getAttribute('data-job-id');
    await running.locator('button', { hasText: 'Cancel' }).click();
    await page.locator(`.jobs tr[data-job-id="${runningId}"][data-state="cancelled"]`).waitFor();

    // Back to the short song for the picture of the finished page.
    await page.fill('input[name="audioDuration"]', '10');
    await page.fill('input[name="batchSize"]', '1');
    await page.evaluate('window.scrollTo(0, 0)');
    await mkdir(join(REPO, 'out'), { recursive: true });
    await page.screenshot({ path: join(REPO, 'out/playground.png'), fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await mkdir(join(REPO, 'docs/img'), { recursive: true });
      await copyFile(join(REPO, 'out/playground.png'), join(REPO, 'docs/img/playground.png'));
    }
    assert.deepEqual(pageErrors, [], 'no errors on the page');
  });
});
