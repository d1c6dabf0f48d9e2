// The one JSON rule of every public entry point (Connect/JSON calls, the REST
// routes, the CLI's --config file and flags), for any message:
//  - field names: the proto name (snake_case, what the spec writes) or the
//    protobuf JSON name (lowerCamel);
//  - enum values: the spec's lower-case words ("cover", "wav"; the proto name
//    without the enum's shared prefix), case-insensitive, or the full proto
//    name ("TASK_TYPE_COVER"), or the number;
//  - an unknown field or enum value is INVALID_ARGUMENT naming the field and
//    listing what is allowed — never silently dropped.
// Output JSON uses proto (snake_case) names and writes 64-bit integers that
// fit in 2^53 as numbers, so a JavaScript client reads seeds and sizes as-is.
import {
  type DescEnum,
  type DescField,
  type DescMessage,
  fromJson,
  type JsonObject,
  type JsonValue,
  type MessageShape,
  ScalarType,
  toJson,
} from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';

/** Thrown for input that breaks the rule; `field` is the dotted path ("config.task_type"). */
export class JsonInputError extends ConnectError {
  readonly field: string;
  constructor(field: string, message: string) {
    // The name stays "ConnectError": ConnectError's instanceof and from() go by it.
    super(message, Code.InvalidArgument);
    this.field = field;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof ConnectError && typeof (value as { field?: unknown }).field === 'string';
  }
}

const INT64_KINDS: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

/** The spec's spelling of an enum value: its proto name without the shared prefix, lower-case. */
export function enumWord(desc: DescEnum, name: string): string {
  const lower = name.toLowerCase();
  const prefix = desc.sharedPrefix?.toLowerCase();
  return prefix && lower.startsWith(prefix) ? lower.slice(prefix.length) : lower;
}

/** The words a user may send for an enum (unspecified left out). */
export function enumWords(desc: DescEnum): string[] {
  return desc.values.filter((v) => v.number !== 0).map((v) => enumWord(desc, v.name));
}

/** Canonical proto name of an enum value given in any accepted spelling; throws naming the field. */
export function enumValueName(desc: DescEnum, value: JsonValue, field: string): string {
  if (typeof value === 'number') {
    const found = desc.values.find((v) => v.number === value);
    if (found) return found.name;
  } else if (typeof value === 'string') {
    const key = value.trim().toLowerCase();
    const found = desc.values.find((v) => v.name.toLowerCase() === key || enumWord(desc, v.name) === key);
    if (found) return found.name;
  }
  throw new JsonInputError(
    field,
    `${field}: ${JSON.stringify(value)} is not a valid value; allowed: ${enumWords(desc)
      .map((w) => `"${w}"`)
      .join(
        ', ',
      )} (case-insensitive), the proto names (${desc.values[1]?.name ?? desc.values[0]?.name}, ...) or their numbers`,
  );
}

function isWellKnown(desc: DescMessage): boolean {
  return desc.typeName.startsWith('google.protobuf.');
}

function fieldByName(desc: DescMessage, key: string): DescField | undefined {
  return desc.fields.find((f) => f.name === key || f.jsonName === key);
}

/**
 * Checks `json` against the message and rewrites it into canonical protobuf
 * JSON (proto field names, enum names). Throws JsonInputError naming the field.
 */
export function normalizeJson(desc: DescMessage, json: JsonValue, path = ''): JsonObject {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new JsonInputError(path || desc.name, `${path || desc.name}: expected a JSON object`);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fieldByName(desc, key);
    const at = path ? `${path}.${key}` : key;
    if (!field) {
      throw new JsonInputError(
        at,
        `unknown field "${at}"; ${desc.name} fields are: ${desc.fields.map((f) => f.name).join(', ')}`,
      );
    }
    out[field.name] = value === null ? null : normalizeField(field, value, at);
  }
  return out;
}

function normalizeField(field: DescField, value: JsonValue, at: string): JsonValue {
  switch (field.fieldKind) {
    case 'enum':
      return enumValueName(field.enum, value, at);
    case 'message':
      return isWellKnown(field.message) ? value : normalizeJson(field.message, value, at);
    case 'list': {
      if (!Array.isArray(value)) throw new JsonInputError(at, `${at}: expected a JSON array`);
      if (field.listKind === 'enum') return value.map((v, i) => enumValueName(field.enum, v, `${at}[${i}]`));
      if (field.listKind === 'message' && !isWellKnown(field.message)) {
        const message = field.message;
        return value.map((v, i) => normalizeJson(message, v, `${at}[${i}]`));
      }
      return value;
    }
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new JsonInputError(at, `${at}: expected a JSON object`);
      if (field.mapKind === 'scalar') return value;
      const entries = Object.entries(value).map(([k, v]) => {
        if (field.mapKind === 'enum') return [k, enumValueName(field.enum, v, `${at}.${k}`)] as const;
        return [k, isWellKnown(field.message) ? v : normalizeJson(field.message, v, `${at}.${k}`)] as const;
      });
      return Object.fromEntries(entries);
    }
    default:
      return value;
  }
}

/** Strict decode of a message from JSON (any accepted spelling). */
export function decodeJson<Desc extends DescMessage>(desc: Desc, json: JsonValue): MessageShape<Desc> {
  const normalized = normalizeJson(desc, json);
  try {
    return fromJson(desc, normalized);
  } catch (error) {
    // protobuf-es names the field by its full name: "cannot decode field acestep.v1.X.bpm from JSON: ..."
    const message = error instanceof Error ? error.message : String(error);
    const field = /field [\w.]+\.(\w+)/.exec(message)?.[1] ?? desc.name;
    throw new JsonInputError(field, `invalid value: ${message}`);
  }
}

/** Output JSON: proto field names, 64-bit integers within 2^53 as numbers. */
export function encodeJson<Desc extends DescMessage>(desc: Desc, message: MessageShape<Desc>): JsonObject {
  return int64AsNumbers(desc, toJson(desc, message, { useProtoFieldName: true }) as JsonObject);
}

/** Rewrites 64-bit integer strings of canonical JSON (proto or JSON names) into numbers where exact. */
export function int64AsNumbers(desc: DescMessage, json: JsonObject): JsonObject {
  if (isWellKnown(desc)) return json;
  for (const [key, value] of Object.entries(json)) {
    const field = fieldByName(desc, key);
    if (!field || value === null) continue;
    json[key] = int64Field(field, value);
  }
  return json;
}

function asNumber(value: JsonValue): JsonValue {
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) return value;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

function int64Field(field: DescField, value: JsonValue): JsonValue {
  const nested = (desc: DescMessage, v: JsonValue) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? int64AsNumbers(desc, v) : v;
  switch (field.fieldKind) {
    case 'scalar':
      return INT64_KINDS.has(field.scalar) ? asNumber(value) : value;
    case 'message':
      return nested(field.message, value);
    case 'list':
      if (!Array.isArray(value)) return value;
      if (field.listKind === 'scalar' && INT64_KINDS.has(field.scalar)) return value.map(asNumber);
      if (field.listKind === 'message') return value.map((v) => nested(field.message, v));
      return value;
    case 'map': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
      const convert =
        field.mapKind === 'scalar' && INT64_KINDS.has(field.scalar)
          ? asNumber
          : field.mapKind === 'message'
            ? (v: JsonValue) => nested(field.message, v)
            : undefined;
      if (!convert) return value;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v)]));
    }
    default:
      return value;
  }
}
