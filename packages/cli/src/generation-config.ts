// GenerationConfig from the command line: `--caption "..." --bpm 120` flags
// and/or `--config file.json`, both with the spec's snake_case field names.
// Flags override the file. Values are typed by the proto's field types.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { type GatewayService, type GenerationConfig, GenerationConfigSchema } from '@acestep/proto/gateway';
import { decodeJson } from '@acestep/runtime';
import type { JsonObject } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';

/** Flags of `acestep generate` that are not GenerationConfig fields. */
export const CLI_FLAGS = new Set(['url', 'out', 'config', 'json', 'api-key', 'quiet']);

/** Audio fields take a local file path on the command line; the CLI uploads the file first. */
const AUDIO_FIELDS = new Set(['src_audio', 'reference_audio']);

function fieldValue(raw: unknown, kind: string): unknown {
  // Enum words ("cover", "wav") are left to the shared JSON rule (decodeJson).
  if (typeof raw !== 'string') return raw;
  if (kind === 'bool') {
    if (raw === '' || raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return raw; // decodeJson refuses it, naming the field
  }
  if (['int32', 'int64', 'double', 'float'].includes(kind)) return Number(raw);
  return raw;
}

/** Stores a local file on the gateway and returns its object id. */
export type Uploader = (path: string) => Promise<string>;

const UPLOAD_CHUNK = 1 << 20;

/** Streams a local file to the gateway (UploadAudio, 1 MiB messages): it never sits in memory whole. */
export function uploaderFor(client: Client<typeof GatewayService>): Uploader {
  return async (path) => {
    async function* pieces() {
      let first = true;
      for await (const chunk of createReadStream(path, { highWaterMark: UPLOAD_CHUNK })) {
        yield { data: chunk as Buffer, filename: first ? basename(path) : '' };
        first = false;
      }
    }
    return (await client.uploadAudio(pieces())).objectId;
  };
}

/** Builds the config; errors name the flag or key and what is allowed. */
export async function buildGenerationConfig(
  flags: Map<string, string>,
  upload: Uploader,
): Promise<GenerationConfig> {
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
      typed[key] = raw as JsonObject[string]; // decodeJson refuses it, naming the field and the allowed ones
      continue;
    }
    if (AUDIO_FIELDS.has(key) && typeof raw === 'string') {
      // A path; an AudioSource object ({"object_id": ...}) in a --config file passes as it is.
      typed[key] = { object_id: await upload(raw) };
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
    const value = fieldValue(raw, scalarNames[kind] ?? kind);
    if (key === 'audio_code_string' && typeof value === 'string') typed[key] = [value];
    else typed[key] = value as JsonObject[string];
  }
  return decodeJson(GenerationConfigSchema, typed);
}
