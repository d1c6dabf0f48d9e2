#!/usr/bin/env node
// The acestep command: `acestep <command> [options]`, `acestep <command> --help`.
// Usage errors (unknown command or option, bad value) exit 2 with one line
// naming the argument; failures of the call exit 1 with the gRPC code.
import { Code } from '@connectrpc/connect';
import { type CommandSpec, helpText, type ParsedCommand, parseCommand, suggest, UsageError } from './args.ts';
import { GENERATE, generateCommand, SUBMIT, submitCommand } from './commands/generate.ts';
import { INFO, infoCommand } from './commands/info.ts';
import {
  CANCEL,
  cancelCommand,
  DOWNLOAD,
  downloadCommand,
  LIST,
  listCommand,
  STATUS,
  statusCommand,
  WATCH,
  watchCommand,
} from './commands/jobs.ts';
import { SERVE, serveCommand } from './commands/serve.ts';

const COMMANDS: [CommandSpec, (parsed: ParsedCommand) => Promise<void>][] = [
  [SERVE, serveCommand],
  [GENERATE, generateCommand],
  [SUBMIT, submitCommand],
  [STATUS, statusCommand],
  [WATCH, watchCommand],
  [CANCEL, cancelCommand],
  [LIST, listCommand],
  [DOWNLOAD, downloadCommand],
  [INFO, infoCommand],
];

const USAGE = `usage: acestep <command> [options]      (acestep <command> --help lists every option)

commands:
${COMMANDS.map(([spec]) => `  ${spec.name.padEnd(10)} ${spec.summary.split('\n')[0]}`).join('\n')}`;

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return;
  }
  const command = COMMANDS.find(([spec]) => spec.name === name);
  if (!command) {
    throw new UsageError(
      `unknown command "${name}"${suggest(
        name,
        COMMANDS.map(([s]) => s.name),
      ).replace('--', '')}`,
    );
  }
  const [spec, run] = command;
  const parsed = parseCommand(spec, rest);
  if (parsed.help) {
    console.log(helpText(spec));
    return;
  }
  await run(parsed);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`acestep: ${error.message}`);
    process.exitCode = 2;
  } else {
    // A clean message for the user, not a stack trace: ConnectErrors carry the gRPC code.
    const e = error as Error & { code?: number; rawMessage?: string };
    const code = typeof e.code === 'number' ? ` [${Code[e.code] ?? e.code}]` : '';
    console.error(`acestep${code}: ${e.rawMessage ?? e.message}`);
    process.exitCode = 1;
  }
}
