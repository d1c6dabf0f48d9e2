import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, defaultServiceConfig, loadServiceConfig, parseFlags } from './config.ts';

const defaults = defaultServiceConfig({ port: 50053, metricsPort: 9463 });

describe('loadServiceConfig', () => {
  it('keeps defaults when nothing is given', () => {
    assert.deepEqual(loadServiceConfig(defaults, [], {}), defaults);
  });

  it('takes flags over environment over defaults', () => {
    const config = loadServiceConfig(defaults, ['--port', '6000', '--device=cuda:1'], {
      ACESTEP_PORT: '7000',
      ACESTEP_THREADS: '4',
    });
    assert.equal(config.port, 6000);
    assert.equal(config.device, 'cuda:1');
    assert.equal(config.threads, 4);
  });

  it('reports every invalid value and unknown flag at once, naming the source and allowed values', () => {
    assert.throws(
      () => loadServiceConfig(defaults, ['--port', '70000', '--colour', 'red'], { ACESTEP_DEVICE: 'gpu0' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /--port="70000" is invalid: gRPC port must be an integer in 0\.\.65535/);
        assert.match(
          error.message,
          /ACESTEP_DEVICE="gpu0" is invalid: .* must be "cpu", "cuda:N" or "webgpu\[:N\]"/,
        );
        assert.match(error.message, /unknown option --colour/);
        return true;
      },
    );
  });
});

describe('parseFlags', () => {
  it('rejects a flag without a value and a bare argument', () => {
    assert.throws(() => parseFlags(['--port']), /needs a value/);
    assert.throws(() => parseFlags(['serve']), /unexpected argument "serve"/);
  });
});
