/**
 * Data-parallel worker thread: holds a replica of the model, receives the current weights and a
 * batch shard, returns the shard's loss and gradients (Float32Arrays, transferred). Spawned by
 * models/parallel.ts; runs as compiled JS (dist/) or as TypeScript through tsx (tests).
 */
import { parentPort } from 'node:worker_threads';
import { initTf } from '../src/core/tf.js';
import type { TrainBatch } from './batch.js';
import type { ModelConfig } from './config.js';
import { computeGrads } from './grad.js';
import { CodeTransformer } from './transformer.js';

/** Messages the main thread sends. */
export type WorkerRequest =
  | { type: 'init'; config: ModelConfig; levelSizes: number[] }
  | {
      type: 'step';
      id: number;
      weights: Float32Array[] | null;
      batch: TrainBatch;
      denom: number;
      dropSeed: number | undefined;
    }
  | { type: 'close' };

/** Messages the worker answers with. */
export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'grads'; id: number; loss: number; grads: Float32Array[] }
  | { type: 'error'; message: string };

let model: CodeTransformer | undefined;

const port = parentPort;
if (port) {
  port.on('message', async (msg: WorkerRequest) => {
    try {
      if (msg.type === 'init') {
        const backend = await initTf();
        model = CodeTransformer.create(msg.config, msg.levelSizes);
        port.postMessage({ type: 'ready', backend } satisfies WorkerReply);
      } else if (msg.type === 'step') {
        if (!model) throw new Error('worker got a step before init');
        if (msg.weights) {
          const vals = new Map<string, Float32Array>();
          for (const [i, s] of model.specs.entries()) vals.set(s.name, msg.weights[i] as Float32Array);
          model.assign(vals);
        }
        const { loss, grads } = computeGrads(model, msg.batch, msg.denom, msg.dropSeed);
        const arrays = model.specs.map((s) => {
          const g = grads.get(s.name);
          const a = g ? (g.dataSync() as Float32Array).slice() : new Float32Array(s.shape.reduce((x, y) => x * y, 1));
          return a;
        });
        for (const g of grads.values()) g.dispose();
        port.postMessage(
          { type: 'grads', id: msg.id, loss, grads: arrays } satisfies WorkerReply,
          arrays.map((a) => a.buffer),
        );
      } else if (msg.type === 'close') {
        model?.dispose();
        port.close();
      }
    } catch (e) {
      port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) } satisfies WorkerReply);
    }
  });
}
