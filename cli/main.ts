/**
 * semid's CLI: the only place that wires indexer, models and server together.
 * Each command lives in its own module and registers here.
 */
import { SemidError } from '../src/core/errors.js';
import { type Command, helpText, parseCommandArgs } from './command.js';
import { COMMANDS } from './registry.js';

function topHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'semid: generative recommendation with semantic item IDs',
    '',
    'Usage: semid <command> [options]   (semid <command> --help for its options)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
  ].join('\n');
}

/** Runs the CLI with argv (without node and script); returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const commands = COMMANDS;
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${topHelp(commands)}\n`);
    return argv.length === 0 ? 1 : 0;
  }
  // Commands may have two words ("index build", "data stats"): match the longest name.
  const two = argv.slice(0, 2).join(' ');
  const cmd = commands.find((c) => c.name === two) ?? commands.find((c) => c.name === argv[0]);
  if (!cmd) {
    const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0) {
      process.stdout.write(`${topHelp(group)}\n`);
      return argv[1] === undefined || argv[1] === '--help' ? 0 : 1;
    }
    process.stderr.write(`semid: unknown command "${argv[0]}". Run \`semid --help\` for the list.\n`);
    return 1;
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  try {
    const parsed = parseCommandArgs(cmd, rest);
    if (parsed === 'help') {
      process.stdout.write(`${helpText(cmd)}\n`);
      return 0;
    }
    return await cmd.run(parsed);
  } catch (e) {
    if (e instanceof SemidError) {
      process.stderr.write(`semid ${cmd.name}: error ${e.code}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
