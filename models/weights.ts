/**
 * Weights of every sequence model (the code transformer's architectures and SASRec): their specs
 * (name, shape, initialisation), the store of tf.Variables a model owns, and the one weight file
 * format: `<sub>/<name>.f32`, raw little-endian float32, row-major, listed in a manifest's `params`
 * (model artifacts, training checkpoints and their optimiser moments all use it).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readF32, writeF32 } from '../src/core/artifact.js';
import { SemidError } from '../src/core/errors.js';
import { createRng } from '../src/core/rng.js';
import { tf } from '../src/core/tf.js';

/** One weight tensor's name, shape and initialisation. */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'zeros' | 'ones';
  /** Whether AdamW weight decay applies (matrices only). */
  decay: boolean;
}

/** Standard deviation of the normal initialisation (GPT-2 style). */
export const INIT_STD = 0.02;

/** Number of scalars of a weight of this shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Appends specs in order: matrices (decayed), embeddings, vectors and layer norms (not decayed). */
export class SpecList {
  readonly specs: ParamSpec[] = [];
  /** A matrix (normal init, weight decay). */
  mat(name: string, shape: number[]): void {
    this.specs.push({ name, shape, init: 'normal', decay: true });
  }
  /** An embedding table (normal init, no weight decay). */
  emb(name: string, shape: number[]): void {
    this.specs.push({ name, shape, init: 'normal', decay: false });
  }
  /** A vector of n zeros or ones (no weight decay). */
  vec(name: string, n: number, init: 'zeros' | 'ones'): void {
    this.specs.push({ name, shape: [n], init, decay: false });
  }
  /** A layer norm `<p>.g` (ones) and `<p>.b` (zeros) of width d. */
  ln(p: string, d: number): void {
    this.vec(`${p}.g`, d, 'ones');
    this.vec(`${p}.b`, d, 'zeros');
  }
}

/** Problems of `values` against `specs` (missing names, wrong sizes); empty when they match. */
export function valueProblems(specs: readonly ParamSpec[], values: ReadonlyMap<string, Float32Array>): string[] {
  const problems: string[] = [];
  for (const s of specs) {
    const v = values.get(s.name);
    const n = sizeOf(s.shape);
    if (v === undefined) problems.push(`missing weight "${s.name}"`);
    else if (v.length !== n) problems.push(`weight "${s.name}" has ${v.length} values, expected ${n} [${s.shape}]`);
  }
  return problems;
}

let storeCounter = 0;

/**
 * The tf.Variables of one model, in spec order. Initialised from `values` where given, else by the
 * spec's init (normal draws seeded from `seed`, one seed per spec in order).
 */
export class ParamStore {
  /** name -> variable, in `specs` order. */
  readonly weights = new Map<string, tf.Variable>();
  constructor(
    readonly specs: readonly ParamSpec[],
    seed: number,
    prefix: string,
    values?: ReadonlyMap<string, Float32Array>,
  ) {
    const rng = createRng(seed);
    // a unique name prefix per instance: tf.variable names are global in the engine
    const uid = `${prefix}${Math.floor(rng.next() * 1e9)}_${storeCounter++}`;
    for (const s of specs) {
      const drawSeed = rng.seed();
      const given = values?.get(s.name);
      const init = tf.tidy(() => {
        if (given !== undefined) return tf.tensor(given, s.shape, 'float32');
        if (s.init === 'zeros') return tf.zeros(s.shape);
        if (s.init === 'ones') return tf.ones(s.shape);
        return tf.truncatedNormal(s.shape, 0, INIT_STD, 'float32', drawSeed);
      });
      this.weights.set(s.name, tf.variable(init, true, `${uid}/${s.name}`));
      init.dispose();
    }
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return this.specs.reduce((a, s) => a + sizeOf(s.shape), 0);
  }

  /** The variable called `name` (throws on an unknown name: a programming error). */
  w(name: string): tf.Variable {
    const v = this.weights.get(name);
    if (!v) throw new SemidError('SEMID_ERR_INTERNAL', `no weight "${name}" in this model`);
    return v;
  }

  /** Whether the model has a weight called `name`. */
  has(name: string): boolean {
    return this.weights.has(name);
  }

  /** Copies of every weight's values, by name. */
  values(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.weights) out.set(k, v.dataSync() as Float32Array);
    return out;
  }

  /** Overwrites the weights named in `values` (same sizes); other weights keep their values. */
  assign(values: ReadonlyMap<string, Float32Array>): void {
    for (const s of this.specs) {
      const v = values.get(s.name);
      if (v === undefined) continue;
      const t = tf.tensor(v, s.shape, 'float32');
      this.w(s.name).assign(t);
      t.dispose();
    }
  }

  /** Frees every variable. */
  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
    this.weights.clear();
  }
}

/** One weight's entry in a manifest. */
export interface ParamEntry {
  name: string;
  shape: number[];
  /** Path relative to the artifact dir. */
  file: string;
}

/** File name of a weight in sub-directory `sub` (names contain dots, never slashes). */
export function weightFile(name: string, sub = 'weights'): string {
  return `${sub}/${name}.f32`;
}

/** The manifest entries of `specs` stored under `sub`. */
export function paramEntries(specs: readonly ParamSpec[], sub = 'weights'): ParamEntry[] {
  return specs.map((s) => ({ name: s.name, shape: [...s.shape], file: weightFile(s.name, sub) }));
}

/**
 * Writes one value per spec (by name, in spec order) under `<dir>/<sub>/` (created when absent).
 * @returns the manifest entries of the files written
 */
export async function writeWeights(
  dir: string,
  specs: readonly ParamSpec[],
  values: ReadonlyMap<string, Float32Array>,
  sub = 'weights',
): Promise<ParamEntry[]> {
  await mkdir(join(dir, sub), { recursive: true });
  const entries = paramEntries(specs, sub);
  for (const e of entries) {
    const v = values.get(e.name);
    if (!v) throw new SemidError('SEMID_ERR_INTERNAL', `no value for weight "${e.name}"`);
    await writeF32(join(dir, e.file), v);
  }
  return entries;
}

/** Reads the weights listed in `params` from `dir`. */
export async function readWeights(dir: string, params: readonly ParamEntry[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const p of params) out.set(p.name, await readF32(join(dir, p.file), sizeOf(p.shape)));
  return out;
}
