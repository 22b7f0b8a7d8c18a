/**
 * semid's CLI: the only place that wires indexer, models and server together.
 * Each command lives in its own module and registers here. Every failure a user causes prints one
 * line, `semid <command>: error SEMID_ERR_…: <what was wrong and what to do>`, and exits 2.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SemidError } from '../src/core/errors.js';
import { setProgressEnabled } from '../src/core/progress.js';
import { type Command, helpText, parseCommandArgs } from './command.js';
import { COMMANDS } from './registry.js';
import { didYouMean } from './suggest.js';

function topHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'semid: generative recommendation with semantic item IDs',
    '',
    'Usage: semid <command> [options]   (semid <command> --help for its options; semid --version)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
  ].join('\n');
}

/** semid's version, read from the package.json above this module (in the source tree or in dist/). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'semid' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: look one folder up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** Prints one error line and returns the usage-error exit code. */
function fail(prefix: string, e: SemidError): number {
  // Messages are written without the command prefix; drop one a message still carries.
  const message = e.message.startsWith(`${prefix}: `) ? e.message.slice(prefix.length + 2) : e.message;
  process.stderr.write(`${prefix}: error ${e.code}: ${message}\n`);
  return 2;
}

/** Runs the CLI with argv (without node and script); returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const commands = COMMANDS;
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${topHelp(commands)}\n`);
    return first === undefined ? 1 : 0;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`semid ${version()}\n`);
    return 0;
  }
  // Commands may have two words ("index build", "data stats"): match the longest name.
  const two = argv.slice(0, 2).join(' ');
  const cmd = commands.find((c) => c.name === two) ?? commands.find((c) => c.name === first);
  if (!cmd) {
    const group = commands.filter((c) => c.name.startsWith(`${first} `));
    const sub = argv[1];
    if (group.length > 0) {
      if (sub === undefined || sub === '--help' || sub === '-h') {
        process.stdout.write(`${topHelp(group)}\n`);
        return 0;
      }
      const subs = group.map((c) => c.name.slice(first.length + 1));
      return fail(
        `semid ${first}`,
        new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `unknown subcommand "${sub}".${didYouMean(sub, subs, (s) => `"semid ${first} ${s}"`)} ` +
            `Subcommands: ${subs.join(', ')}; run \`semid ${first} --help\``,
        ),
      );
    }
    const names = [...new Set(commands.map((c) => c.name.split(' ')[0] as string))];
    return fail(
      'semid',
      new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `unknown command "${first}".${didYouMean(first, names, (s) => `"semid ${s}"`)} Run \`semid --help\` for the list.`,
      ),
    );
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  setProgressEnabled(true);
  try {
    const parsed = parseCommandArgs(cmd, rest);
    if (parsed === 'help') {
      const extra = cmd.help ? await cmd.help(rest) : undefined;
      process.stdout.write(`${helpText(cmd)}\n${extra ? `\n${extra}\n` : ''}`);
      return 0;
    }
    return await cmd.run(parsed);
  } catch (e) {
    if (e instanceof SemidError) return fail(`semid ${cmd.name}`, e);
    throw e;
  } finally {
    setProgressEnabled(false);
  }
}
