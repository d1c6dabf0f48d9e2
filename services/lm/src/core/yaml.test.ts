import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dumpYamlMapping, type YamlScalar } from './yaml.ts';

interface Fixture {
  input: Record<string, YamlScalar>;
  yaml: string;
}

// Written by fixtures/make_yaml_fixtures.py with PyYAML 6.0 (Debian python3-yaml).
const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/yaml-fixtures.json', import.meta.url), 'utf8'),
) as Fixture[];

describe('dumpYamlMapping matches PyYAML yaml.dump(allow_unicode=True, sort_keys=True)', () => {
  it('has fixtures', () => assert.ok(fixtures.length > 100));
  for (const [i, f] of fixtures.entries()) {
    it(`case ${i}: ${JSON.stringify(f.input).slice(0, 60)}`, () => {
      assert.equal(dumpYamlMapping(f.input), f.yaml);
    });
  }

  it('reproduces the official folding example', () => {
    const caption =
      'An explosive, high-energy pop-rock track with a strong anime theme song feel. ' +
      'The song kicks off with a catchy, synthesized brass fanfare: punchy drums.';
    assert.equal(
      dumpYamlMapping({ caption }),
      "caption: 'An explosive, high-energy pop-rock track with a strong anime theme song\n" +
        "  feel. The song kicks off with a catchy, synthesized brass fanfare: punchy drums.'\n",
    );
  });

  it('quotes Norwegian', () => assert.equal(dumpYamlMapping({ language: 'no' }), "language: 'no'\n"));
});
