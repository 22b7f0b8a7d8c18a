/**
 * Data-parallel gradients over worker threads. The wasm backend runs one thread per Node isolate,
 * so each extra core gets a worker holding a model replica. One step: the batch is cut into
 * `workers + 1` row shards; the main thread computes shard 0 while the workers compute the rest from
 * the current weights; the gradients are summed (each shard's loss is normalised by the WHOLE batch's
 * target count, so the sum equals the single-thread gradient of the whole batch).
 *
 * Worker entry: grad-worker.js next to this module (compiled, dist/) or grad-worker.ts through tsx.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SemidError } from '../src/core/errors.js';
import { type Tensor, tf } from '../src/core/tf.js';
import { shardBatch, type TrainBatch, targetCount } from './batch.js';
import type { ModelConfig } from './config.js';
import { computeGrads } from './grad.js';
import type { WorkerReply, WorkerRequest } from './grad-worker.js';
import type { CodeTransformer } from './transformer.js';

/** URL of tsx's ESM loader API (the ESM build; the CJS one mis-resolves inside an eval worker). */
function tsxEsmApi(from: string): string {
  const require = createRequire(from);
  const pkg = require.resolve('tsx/package.json');
  return pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
}

/**
 * Starts the worker entry next to this module: compiled JS (dist/) directly; TypeScript (tests,
 * `npx tsx`) through a tiny bootstrap that registers tsx's ESM loader inside the worker first
 * (Node 20 does not apply `--import` from a worker's execArgv to its loader).
 */
function spawnWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./grad-worker.js', here));
  const tsxApi = tsxEsmApi(here);
  const entry = new URL('./grad-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

interface Pending {
  resolve: (r: { loss: number; grads: Float32Array[] }) => void;
  reject: (e: Error) => void;
}

class GradWorker {
  readonly worker: Worker;
  private pending: Pending | undefined;
  private readyWait: { resolve: () => void; reject: (e: Error) => void } | undefined;
  constructor() {
    this.worker = spawnWorker();
    this.worker.on('message', (m: WorkerReply) => {
      if (m.type === 'ready') this.readyWait?.resolve();
      else if (m.type === 'grads') this.pending?.resolve({ loss: m.loss, grads: m.grads });
      else if (m.type === 'error') {
        const e = new SemidError('SEMID_ERR_INTERNAL', `training worker failed: ${m.message}`);
        this.readyWait?.reject(e);
        this.pending?.reject(e);
      }
    });
    this.worker.on('error', (e) => {
      this.readyWait?.reject(e);
      this.pending?.reject(e);
    });
  }
  init(config: ModelConfig, levelSizes: number[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.readyWait = { resolve, reject };
      this.worker.postMessage({ type: 'init', config, levelSizes } satisfies WorkerRequest);
    });
  }
  step(msg: Extract<WorkerRequest, { type: 'step' }>): Promise<{ loss: number; grads: Float32Array[] }> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, msg.weights ? msg.weights.map((w) => w.buffer as ArrayBuffer) : []);
    });
  }
}

/**
 * Computes whole-batch gradients with the main thread plus `workers` worker threads. With 0 workers
 * it is the plain single-thread computation.
 */
export class DataParallel {
  private readonly pool: GradWorker[] = [];
  private stepId = 0;
  private constructor(private readonly model: CodeTransformer) {}

  /** Starts `workers` worker threads with replicas of `model`'s architecture. */
  static async create(model: CodeTransformer, workers: number): Promise<DataParallel> {
    const dp = new DataParallel(model);
    for (let i = 0; i < workers; i++) dp.pool.push(new GradWorker());
    try {
      await Promise.all(dp.pool.map((w) => w.init(model.config, [...model.layout.levelSizes])));
    } catch (e) {
      await dp.close();
      throw e;
    }
    return dp;
  }

  /** Number of worker threads. */
  get workers(): number {
    return this.pool.length;
  }

  /**
   * Loss and gradients of the whole batch at the model's current weights.
   * @param dropSeed base dropout seed; shard s uses dropSeed + s (so dropout masks differ per shard)
   * @returns loss and name -> gradient tensors (caller disposes)
   */
  async grads(batch: TrainBatch, dropSeed: number | undefined): Promise<{ loss: number; grads: Map<string, Tensor> }> {
    const denom = targetCount(batch);
    if (this.pool.length === 0 || batch.b < 2) return computeGrads(this.model, batch, denom, dropSeed);
    const shards = shardBatch(batch, this.pool.length + 1);
    const weights = this.model.specs.map((s) => (this.model.w(s.name).dataSync() as Float32Array).slice());
    const id = ++this.stepId;
    const remote = shards.slice(1).map((sh, i) => {
      const w = this.pool[i] as GradWorker;
      return w.step({
        type: 'step',
        id,
        weights: i === shards.length - 2 ? weights : weights.map((a) => a.slice()),
        batch: sh,
        denom,
        dropSeed: dropSeed === undefined ? undefined : dropSeed + i + 1,
      });
    });
    const local = computeGrads(this.model, shards[0] as TrainBatch, denom, dropSeed);
    const results = await Promise.all(remote);
    let loss = local.loss;
    const out = new Map<string, Tensor>();
    this.model.specs.forEach((s, k) => {
      const g = local.grads.get(s.name);
      const sum = tf.tidy(() => {
        let acc: Tensor = g ?? tf.zeros(s.shape);
        for (const r of results) acc = tf.add(acc, tf.tensor(r.grads[k] as Float32Array, s.shape, 'float32'));
        return acc;
      });
      g?.dispose();
      out.set(s.name, sum);
    });
    for (const r of results) loss += r.loss;
    return { loss, grads: out };
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.pool.map((w) => w.worker.terminate()));
    this.pool.length = 0;
  }
}
