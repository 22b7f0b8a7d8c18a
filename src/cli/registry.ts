/** Every CLI command, in the order `semid --help` lists them. Command modules register here. */
import type { Command } from './command.js';

export const COMMANDS: readonly Command[] = [];
