/**
 * The shape of a CLI command and the shared helpers: flag parsing with `--help`, config files
 * (JSON or YAML) merged under flags, and progress output (a bar on a TTY, periodic lines otherwise).
 */
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { SemidError } from '../src/core/errors.js';
import { didYouMean } from './suggest.js';

type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string };

/** One CLI command. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Whether positional arguments are accepted. */
  positionals?: boolean;
  /** More help after the options, given the raw arguments (e.g. a scheme's config fields for `--scheme X --help`). */
  help?(argv: readonly string[]): string | undefined | Promise<string | undefined>;
  run(args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Help text for a command. */
export function helpText(cmd: Command): string {
  const lines = [`semid ${cmd.name}: ${cmd.summary}`, '', `Usage: ${cmd.usage}`, '', 'Options:'];
  for (const [name, spec] of Object.entries(cmd.options)) {
    const flag = `  --${name}${spec.type === 'string' ? ' <value>' : ''}`;
    const def = spec.default !== undefined ? ` (default: ${String(spec.default)})` : '';
    lines.push(`${flag.padEnd(28)} ${spec.description}${def}`);
  }
  lines.push(`${'  --help'.padEnd(28)} show this help`);
  return lines.join('\n');
}

/** Parses argv for `cmd`; unknown flags are a SEMID_ERR_BAD_INPUT naming the flag and the valid ones. */
export function parseCommandArgs(cmd: Command, argv: string[]): ParsedArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const options: ParseArgsConfig['options'] = {};
  for (const [name, spec] of Object.entries(cmd.options)) {
    const { description: _d, ...rest } = spec;
    options[name] = rest;
  }
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: cmd.positionals ?? false,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (e) {
    throw argsError(cmd, e as Error & { code?: string });
  }
}

/** A parseArgs failure as one clear SEMID_ERR_BAD_INPUT, with a suggestion for a mistyped option. */
function argsError(cmd: Command, e: Error & { code?: string }): SemidError {
  const names = Object.keys(cmd.options);
  const see = `see \`semid ${cmd.name} --help\``;
  const flag = /option '([^' ]+)/i.exec(e.message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) {
    const bare = flag.replace(/^-+/, '').split('=')[0] as string;
    return new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `unknown option ${flag}.${didYouMean(bare, names, (s) => `--${s}`)} Valid options: ${names
        .map((o) => `--${o}`)
        .join(', ')}; ${see}`,
    );
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /argument '([^']+)'/.exec(e.message)?.[1];
    return new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `unexpected argument ${arg === undefined ? '' : `"${arg}" `}(this command takes only --options); ${see}`,
    );
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined) {
    const spec = cmd.options[flag.replace(/^-+/, '')];
    return new SemidError(
      'SEMID_ERR_BAD_INPUT',
      spec?.type === 'string' ? `${flag} needs a value; ${see}` : `${flag} takes no value; ${see}`,
    );
  }
  return new SemidError('SEMID_ERR_BAD_INPUT', `${e.message}; ${see}`);
}

/** Reads a JSON or YAML config file into an object. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new SemidError('SEMID_ERR_BAD_CONFIG', `config file not found: ${path}`);
  }
  let v: unknown;
  try {
    v = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new SemidError('SEMID_ERR_BAD_CONFIG', `config file ${path} does not parse: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SemidError('SEMID_ERR_BAD_CONFIG', `config file ${path} must hold an object at the top level`);
  }
  return v as Record<string, unknown>;
}

/** A string flag, or undefined. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A required string flag; `cmd` names the command in the hint. */
export function req(args: ParsedArgs, name: string, cmd: string): string {
  const v = str(args, name);
  if (v === undefined) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `--${name} is required; see \`semid ${cmd} --help\``);
  }
  return v;
}

/** An integer flag (or default), with a clear error when it is not one. */
export function int(args: ParsedArgs, name: string, def: number): number {
  const v = str(args, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new SemidError('SEMID_ERR_BAD_INPUT', `--${name} must be an integer, got "${v}"`);
  return n;
}

/** A number flag (or default). */
export function num(args: ParsedArgs, name: string, def: number): number {
  const v = str(args, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new SemidError('SEMID_ERR_BAD_INPUT', `--${name} must be a number, got "${v}"`);
  return n;
}
export { Progress } from '../src/core/progress.js';

/** Log a line to stderr (kept off stdout so --json output stays parseable). */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
