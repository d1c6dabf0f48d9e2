// GenerationConfig from the command line: `--caption "..." --bpm 120` flags
// and/or `--config file.json`, both with the spec's snake_case field names.
// Flags override the file. Values are typed by the proto's field types.
import { readFile } from 'node:fs/promises';
import { type GenerationConfig, GenerationConfigSchema } from '@acestep/proto/gateway';
import { fromJson, type JsonObject } from '@bufbuild/protobuf';

/** Flags of `acestep generate` that are not GenerationConfig fields. */
export const CLI_FLAGS = new Set(['url', 'out', 'config', 'json', 'api-key', 'quiet']);

const ENUMS: Record<string, Record<string, string>> = {
  task_type: {
    text2music: 'TASK_TYPE_TEXT2MUSIC',
    cover: 'TASK_TYPE_COVER',
    repaint: 'TASK_TYPE_REPAINT',
    lego: 'TASK_TYPE_LEGO',
    extract: 'TASK_TYPE_EXTRACT',
    complete: 'TASK_TYPE_COMPLETE',
  },
  audio_format: { mp3: 'AUDIO_FORMAT_MP3', wav: 'AUDIO_FORMAT_WAV', flac: 'AUDIO_FORMAT_FLAC' },
};

/** Audio fields take a local file path on the command line; the CLI reads and uploads the bytes. */
const AUDIO_FIELDS = new Set(['src_audio', 'reference_audio']);

function fieldValue(name: string, raw: unknown, kind: string): unknown {
  if (typeof raw !== 'string') return raw;
  const enumValues = ENUMS[name];
  if (enumValues) return enumValues[raw] ?? raw;
  if (kind === 'bool') return raw === '' || raw === 'true' || raw === '1';
  if (['int32', 'int64', 'double', 'float'].includes(kind)) return Number(raw);
  return raw;
}

/** Builds the config; errors name the flag or key and what is allowed. */
export async function buildGenerationConfig(flags: Map<string, string>): Promise<GenerationConfig> {
  const json: JsonObject = {};
  const configPath = flags.get('config');
  if (configPath) Object.assign(json, JSON.parse(await readFile(configPath, 'utf8')) as JsonObject);
  for (const [flag, value] of flags) {
    if (CLI_FLAGS.has(flag)) continue;
    json[flag.replaceAll('-', '_')] = value;
  }
  const fields = new Map(GenerationConfigSchema.fields.map((f) => [f.name, f]));
  const typed: JsonObject = {};
  for (const [key, raw] of Object.entries(json)) {
    const field = fields.get(key);
    if (!field) {
      throw new Error(`unknown field "${key}": GenerationConfig fields are ${[...fields.keys()].join(', ')}`);
    }
    if (AUDIO_FIELDS.has(key)) {
      const path = String(raw);
      typed[key] = { data: Buffer.from(await readFile(path)).toString('base64') };
      continue;
    }
    const kind = field.fieldKind === 'scalar' ? String(field.scalar) : field.fieldKind;
    const scalarNames: Record<string, string> = {
      '1': 'double',
      '2': 'float',
      '3': 'int64',
      '5': 'int32',
      '8': 'bool',
      '9': 'string',
    };
    const value = fieldValue(key, raw, scalarNames[kind] ?? kind);
    if (key === 'audio_code_string' && typeof value === 'string') typed[key] = [value];
    else typed[key] = value as JsonObject[string];
  }
  try {
    return fromJson(GenerationConfigSchema, typed);
  } catch (error) {
    throw new Error(`invalid GenerationConfig: ${(error as Error).message}`);
  }
}
