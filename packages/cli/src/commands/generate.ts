// `acestep generate`: one generation streamed from the gateway (started for
// the call when there is no --url), files written as `<name>.<ext>` with a
// `<name>.json` sidecar each. `acestep submit`: the same config queued as a job.
import { type GenerationResult, GenerationResultSchema } from '@acestep/proto/gateway';
import { type JsonObject, toJson } from '@bufbuild/protobuf';
import { type CommandSpec, oneOf, type ParsedCommand, stringValue } from '../args.ts';
import { configFlags, configOptions } from '../config-options.ts';
import { buildGenerationConfig, uploaderFor } from '../generation-config.ts';
import { launchStack, type Stack } from '../launcher.ts';
import {
  checkNameTemplate,
  jobJson,
  jobLine,
  PROGRESS_MODES,
  ProgressReporter,
  saveResult,
} from '../output.ts';
import { API_KEY_OPTION, type GatewayClient, gatewayClient, JSON_OPTION, URL_OPTION } from './common.ts';

const CONFIG_FILE_OPTION = {
  type: 'string',
  value: 'FILE',
  describe: 'GenerationConfig as JSON (snake_case keys); flags override it',
  default: '',
} as const;

export const GENERATE: CommandSpec = {
  name: 'generate',
  summary:
    'Generate music through the gateway and write the files, with a JSON sidecar each.\n' +
    'Without --url the lm, dit, vae and gateway services are started for this one generation\n' +
    '(embedded defaults, tiny models) and stopped after.',
  options: {
    url: { ...URL_OPTION, default: '', describe: 'address of a running gateway (none: start the services)' },
    'api-key': API_KEY_OPTION,
    out: {
      type: 'string',
      value: 'DIR',
      describe: 'directory the files are written to',
      default: 'acestep-output',
    },
    name: {
      type: 'string',
      value: 'TEMPLATE',
      describe: 'file name template: {index} (1-based), {seed}, {id}, {format}',
      default: '{index}-{seed}',
    },
    progress: {
      type: 'string',
      value: 'MODE',
      describe: 'auto (bar on a terminal), bar, json (one JSON line per event on stdout), none',
      default: 'auto',
    },
    json: { ...JSON_OPTION, describe: 'print the GenerationResult as JSON' },
    config: CONFIG_FILE_OPTION,
    ...configOptions(),
  },
  notes:
    'Audio options (--src_audio, --reference_audio) take a local file. Each file gets a <name>.json sidecar\n' +
    'with its seed, the LM metadata, the timings, the whole GenerationResult and the config.',
};

export const SUBMIT: CommandSpec = {
  name: 'submit',
  summary: 'Queue a generation as a job on a running gateway and print its id (see status, watch, download).',
  options: {
    url: URL_OPTION,
    'api-key': API_KEY_OPTION,
    'idempotency-key': {
      type: 'string',
      value: 'KEY',
      describe: 'submitting the same key twice returns the first job',
      default: '',
    },
    json: { ...JSON_OPTION, describe: 'print the job as JSON' },
    config: CONFIG_FILE_OPTION,
    ...configOptions(),
  },
};

/** The config; audio files (--src_audio, --reference_audio) are uploaded through `client` first. */
async function configOf(parsed: ParsedCommand, client: GatewayClient) {
  const flags = configFlags(parsed.values);
  if (typeof parsed.values.config === 'string') flags.set('config', parsed.values.config);
  return buildGenerationConfig(flags, uploaderFor(client));
}

export async function generateCommand(parsed: ParsedCommand): Promise<void> {
  const progressMode = oneOf('progress', stringValue(GENERATE, parsed, 'progress'), PROGRESS_MODES);
  const nameTemplate = stringValue(GENERATE, parsed, 'name');
  checkNameTemplate(nameTemplate);
  const reporter = new ProgressReporter(progressMode);
  let stack: Stack | undefined;
  let url = stringValue(GENERATE, parsed, 'url');
  if (!url) {
    if (!reporter.json) process.stderr.write('starting lm, dit, vae and gateway...\n');
    stack = await launchStack();
    url = stack.gateway.address;
  }
  try {
    const client = gatewayClient(url, stringValue(GENERATE, parsed, 'api-key'));
    const config = await configOf(parsed, client);
    let result: GenerationResult | undefined;
    for await (const res of client.generate({ config })) {
      if (res.event.case === 'progress') reporter.progress(res.event.value);
      else if (res.event.case === 'result') result = res.event.value;
    }
    reporter.end();
    if (!result) throw new Error('the gateway ended the stream without a result');
    const saved = await saveResult(client, result, config, {
      outDir: stringValue(GENERATE, parsed, 'out'),
      nameTemplate,
    });
    const resultJson = toJson(GenerationResultSchema, result, { useProtoFieldName: true }) as JsonObject;
    if (reporter.json) {
      for (const file of saved) reporter.event({ event: 'file', path: file.path, sidecar: file.sidecar });
      reporter.event({ event: 'result', result: resultJson });
    } else if (parsed.values.json) {
      console.log(JSON.stringify(resultJson, null, 2));
    } else {
      console.log(result.statusMessage);
      console.log(result.generationInfo);
      for (const file of saved) console.log(`wrote ${file.path} (+ ${file.sidecar})`);
    }
  } finally {
    await stack?.stop();
  }
}

export async function submitCommand(parsed: ParsedCommand): Promise<void> {
  const client = gatewayClient(stringValue(SUBMIT, parsed, 'url'), stringValue(SUBMIT, parsed, 'api-key'));
  const config = await configOf(parsed, client);
  const { job } = await client.submitJob({
    config,
    idempotencyKey: stringValue(SUBMIT, parsed, 'idempotency-key'),
  });
  if (!job) throw new Error('the gateway answered SubmitJob without a job');
  if (parsed.values.json) console.log(JSON.stringify(jobJson(job), null, 2));
  else console.log(jobLine(job));
}
