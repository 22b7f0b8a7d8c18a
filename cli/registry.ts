/** Every CLI command, in the order `semid --help` lists them. Command modules register here. */
import type { Command } from './command.js';
import { compareCommand, demoCommand } from './compare.js';
import { DATA_COMMANDS } from './data.js';
import { evalCommand } from './eval.js';
import { exploreCommand } from './explore.js';
import { INDEX_COMMANDS } from './index-cmd.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';

export const COMMANDS: readonly Command[] = [
  demoCommand,
  compareCommand,
  ...DATA_COMMANDS,
  ...INDEX_COMMANDS,
  trainCommand,
  evalCommand,
  serveCommand,
  exploreCommand,
];
