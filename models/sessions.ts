/**
 * What the decoding sessions of the code transformer's architectures share: host copies of cached
 * keys/values gathered per beam row, grouping beam rows by prefix length into bounded chunks, and
 * the check of a step's rows.
 */
import { SemidError } from '../src/core/errors.js';
import type { BeamRow } from '../src/core/model.js';
import { type Tensor, tf } from '../src/core/tf.js';
import type { KV } from './blocks.js';

/**
 * Rows of a cached tensor for each of `users` (JS-side copy; wasm's gather kernel is ~50x slower
 * for these block copies). `host` is the cached tensor's data, `shape` its shape [n, ...].
 */
function gatherRows(host: Float32Array, shape: readonly number[], users: Int32Array): Tensor {
  const block = shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(users.length * block);
  for (let i = 0; i < users.length; i++) {
    const u = users[i] as number;
    out.set(host.subarray(u * block, (u + 1) * block), i * block);
  }
  return tf.tensor(out, [users.length, ...shape.slice(1)], 'float32');
}

/** A cached K/V pair with host copies for fast per-row gathers. */
export interface HostKV {
  kv: KV;
  kT: Float32Array;
  v: Float32Array;
}

/** Host copies of a cached K/V pair. */
export function hostKV(kv: KV): HostKV {
  return { kv, kT: kv.kT.dataSync() as Float32Array, v: kv.v.dataSync() as Float32Array };
}

/** The cached K/V rows of `users`, as new tensors. */
export function gatherKV(h: HostKV, users: Int32Array): KV {
  return { kT: gatherRows(h.kT, h.kv.kT.shape, users), v: gatherRows(h.v, h.kv.v.shape, users) };
}

/** Frees cached K/V tensors and empties the list. */
export function disposeKV(kvs: KV[]): void {
  for (const kv of kvs) {
    kv.kT.dispose();
    kv.v.dispose();
  }
  kvs.length = 0;
}

/** Rows per forward pass in decoding steps (bounds the gathered K/V cache memory). */
const STEP_CHUNK = 512;

/** Splits rows into groups by prefix length and chunks, calls `step`, and scatters rows back in order. */
export function stepRows(
  rows: readonly BeamRow[],
  vocab: number,
  step: (chunk: BeamRow[], p: number) => Float32Array,
): Float32Array[] {
  const out: Float32Array[] = new Array<Float32Array>(rows.length);
  const byLen = new Map<number, number[]>();
  rows.forEach((r, i) => {
    const g = byLen.get(r.prefix.length);
    if (g) g.push(i);
    else byLen.set(r.prefix.length, [i]);
  });
  for (const [p, idx] of byLen) {
    for (let c = 0; c < idx.length; c += STEP_CHUNK) {
      const part = idx.slice(c, c + STEP_CHUNK);
      const flat = step(
        part.map((i) => rows[i] as BeamRow),
        p,
      );
      part.forEach((i, k) => {
        out[i] = flat.slice(k * vocab, (k + 1) * vocab);
      });
    }
  }
  return out;
}

/** Throws SEMID_ERR_BAD_INPUT for a row outside the session's users or with a full-length prefix. */
export function checkRows(rows: readonly BeamRow[], users: number, levels: number): void {
  for (const r of rows) {
    if (!Number.isInteger(r.user) || r.user < 0 || r.user >= users) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `beam row user ${r.user} is outside [0, ${users}) of this session`);
    }
    if (r.prefix.length >= levels) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `beam row prefix has ${r.prefix.length} tokens; codes have ${levels}, so at most ${levels - 1}`,
      );
    }
  }
}
