/** Every CLI command, in the order `semid --help` lists them. Command modules register here. */
import type { Command } from './command.js';
import { DATA_COMMANDS } from './data.js';
import { evalCommand } from './eval.js';
import { INDEX_COMMANDS } from './index-cmd.js';
import { serveCommand } from './serve.js';

export const COMMANDS: readonly Command[] = [...DATA_COMMANDS, ...INDEX_COMMANDS, evalCommand, serveCommand];
