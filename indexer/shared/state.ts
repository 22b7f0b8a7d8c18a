/** Reading and writing a scheme's JSON state inside an index artifact (for encoding new items). */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readJson, writeJson } from '../../src/core/artifact.js';
import { SemidError } from '../../src/core/errors.js';

/** Writes `dir/<name>` as JSON. */
export async function saveJsonState(dir: string, name: string, value: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeJson(join(dir, name), value);
}

/**
 * Reads `dir/<name>` and checks it with `valid`.
 * @throws SEMID_ERR_ARTIFACT_MISSING / SEMID_ERR_ARTIFACT_CORRUPT naming the file
 */
export async function loadJsonState<T>(
  dir: string,
  name: string,
  valid: (v: unknown) => boolean,
  shape: string,
): Promise<T> {
  const path = join(dir, name);
  const v = await readJson<unknown>(path, 'scheme state');
  if (!valid(v))
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${path} is not a valid scheme state; expected ${shape}`);
  return v as T;
}

/** True for an array of strings. */
export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
