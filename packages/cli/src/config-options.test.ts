// Every GenerationConfig field has its --help line (default and description).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GenerationConfigSchema } from '@acestep/proto/gateway';
import { configOptions, fieldsWithoutHelp } from './config-options.ts';

it('every GenerationConfig field is a documented option', () => {
  assert.deepEqual(fieldsWithoutHelp(), [], 'add them to FIELD_HELP in config-options.ts');
  assert.deepEqual(
    Object.keys(configOptions()),
    GenerationConfigSchema.fields.map((f) => f.name),
  );
});
