import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapSelects, selects } from './selector.ts';

const labels = { 'app.kubernetes.io/name': 'lm', 'app.kubernetes.io/component': 'stage' };

test('LabelSelector: matchLabels and every operator, as Kubernetes evaluates them', () => {
  assert.equal(selects({}, labels), true);
  assert.equal(selects({ matchLabels: { 'app.kubernetes.io/name': 'lm' } }, labels), true);
  assert.equal(selects({ matchLabels: { 'app.kubernetes.io/name': 'dit' } }, labels), false);
  const expr = (operator: string, values?: string[]) => ({
    matchExpressions: [{ key: 'app.kubernetes.io/component', operator, values }],
  });
  assert.equal(selects(expr('In', ['stage', 'gateway']), labels), true);
  assert.equal(selects(expr('In', ['gateway']), labels), false);
  assert.equal(selects(expr('NotIn', ['stage']), labels), false);
  assert.equal(selects(expr('Exists'), labels), true);
  assert.equal(selects(expr('DoesNotExist'), labels), false);
  assert.equal(selects(expr('Bogus'), labels), false);
});

test('Service selector: a plain map, and an empty one selects nothing', () => {
  assert.equal(mapSelects({ 'app.kubernetes.io/name': 'lm' }, labels), true);
  assert.equal(mapSelects({ 'app.kubernetes.io/name': 'lm', extra: 'x' }, labels), false);
  assert.equal(mapSelects({}, labels), false);
  assert.equal(mapSelects(undefined, labels), false);
});
