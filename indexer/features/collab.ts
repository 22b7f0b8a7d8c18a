/**
 * Collaborative item embeddings learned with TensorFlow.js from the TRAIN sequences only (valid and
 * test targets are never passed in, so they cannot leak into an index). The model is a small
 * next-item predictor in the spirit of SASRec (Kang & McAuley 2018) with the attention replaced by a
 * mean over the last `window` items: context = mean of E[previous items], score(next = j) = context . E[j],
 * trained with in-batch sampled softmax (the other targets of the batch are the negatives). One shared
 * table E, as in SASRec, so items that follow the same items end up close. It trains in about a
 * minute on Beauty on one core. LETTER uses 32-d SASRec embeddings; this is the cheaper stand-in.
 *
 * Items that never occur in the training sequences keep their small random initial vector.
 */
import { type AnyField, type ConfigOf, defaultsOf, resolveConfig } from '../../src/core/config.js';
import { track } from '../../src/core/progress.js';
import type { Rng } from '../../src/core/rng.js';
import { initTf, tf } from '../../src/core/tf.js';
import type { Item, ItemId } from '../../src/core/types.js';

/** The options of `learnCollabEmbeddings`: kind, default, bounds, doc. */
export const COLLAB_SPEC = {
  dim: { kind: 'int', default: 32, min: 1, doc: 'embedding dimension' },
  window: { kind: 'int', default: 3, min: 1, doc: 'previous items averaged into the context' },
  epochs: { kind: 'int', default: 5, min: 0, doc: 'passes over the training pairs' },
  batchSize: { kind: 'int', default: 1024, min: 2, doc: 'pairs per batch (also the number of in-batch negatives)' },
  learningRate: { kind: 'number', default: 0.005, above: 0, doc: 'Adam learning rate' },
  temperature: { kind: 'number', default: 1, above: 0, doc: 'softmax temperature on the dot products' },
} satisfies Record<string, AnyField>;

/** The validated options of `learnCollabEmbeddings` (see COLLAB_SPEC). */
export type CollabConfig = ConfigOf<typeof COLLAB_SPEC>;

/** Options of `learnCollabEmbeddings`, plus progress lines. */
export type CollabOptions = CollabConfig & { log?: (line: string) => void };

/** The defaults of CollabOptions. */
export const COLLAB_DEFAULTS: CollabConfig = defaultsOf<CollabConfig>(COLLAB_SPEC);

/**
 * Learns collaborative item embeddings from training sequences.
 * @param trainSequences each user's training items, oldest first (valid/test items removed).
 * @param items the catalogue; the output rows follow its order.
 * @returns [items.length, dim] float32 item embeddings (not normalised).
 */
export async function learnCollabEmbeddings(
  trainSequences: readonly (readonly ItemId[])[],
  items: readonly Item[],
  opts: Partial<CollabOptions>,
  rng: Rng,
): Promise<Float32Array> {
  const { log, ...given } = opts;
  const o = { ...resolveConfig<CollabConfig>('collaborative embedding', COLLAB_SPEC, given), log };
  await initTf();
  const V = items.length;
  const index = new Map(items.map((it, i) => [it.id, i]));
  // training pairs: (window of previous items, next item); PAD = V
  const ctx: number[] = [];
  const tgt: number[] = [];
  for (const seq of trainSequences) {
    const ids = seq.map((id) => index.get(id)).filter((i): i is number => i !== undefined);
    for (let t = 1; t < ids.length; t++) {
      for (let w = 0; w < o.window; w++) ctx.push(t - 1 - w >= 0 ? (ids[t - 1 - w] as number) : V);
      tgt.push(ids[t] as number);
    }
  }
  const P = tgt.length;
  const init = new Float32Array((V + 1) * o.dim);
  for (let i = 0; i < V * o.dim; i++) init[i] = rng.normal() * 0.01; // the PAD row stays 0
  if (P < 2 || o.epochs === 0) return init.slice(0, V * o.dim);
  const E = tf.tidy(() => tf.variable(tf.tensor2d(init, [V + 1, o.dim])));
  const padMask = tf.tidy(() => tf.concat([tf.ones([V, 1]), tf.zeros([1, 1])]));
  const optimizer = tf.train.adam(o.learningRate);
  const order = Array.from({ length: P }, (_, i) => i);
  try {
    const progress = track('collaborative embeddings', o.epochs, { unit: 'epoch' });
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      rng.shuffle(order);
      let lossSum = 0;
      let steps = 0;
      for (let s = 0; s + 1 < P; s += o.batchSize) {
        const rows = order.slice(s, s + o.batchSize);
        const B = rows.length;
        if (B < 2) continue;
        const c = new Int32Array(B * o.window);
        const t = new Int32Array(B);
        rows.forEach((r, i) => {
          for (let w = 0; w < o.window; w++) c[i * o.window + w] = ctx[r * o.window + w] as number;
          t[i] = tgt[r] as number;
        });
        const loss = tf.tidy(() => {
          const cT = tf.tensor1d(c, 'int32');
          const tT = tf.tensor1d(t, 'int32');
          // same target twice in a batch: mask the duplicate columns out of the negatives
          const same = tf.equal(tf.expandDims(tT, 1), tf.expandDims(tT, 0));
          const dup = tf.logicalAnd(same, tf.logicalNot(tf.cast(tf.eye(B), 'bool')));
          const { value, grads } = tf.variableGrads(() => {
            const m = tf.reshape(tf.gather(padMask, cT), [B, o.window, 1]);
            const e = tf.reshape(tf.gather(E, cT), [B, o.window, o.dim]);
            const ctxv = tf.div(tf.sum(tf.mul(e, m), 1), tf.maximum(tf.sum(m, 1), 1));
            const te = tf.gather(E, tT);
            let logits = tf.div(tf.matMul(ctxv, te, false, true), o.temperature);
            logits = tf.where(dup, tf.fill([B, B], -1e9), logits);
            return tf.losses.softmaxCrossEntropy(tf.eye(B), logits) as tf.Scalar;
          }, [E]);
          optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0]);
          return value;
        });
        lossSum += loss.dataSync()[0] as number;
        loss.dispose();
        steps++;
      }
      o.log?.(`collab epoch ${epoch + 1}/${o.epochs}: loss=${(lossSum / Math.max(1, steps)).toFixed(4)} (${P} pairs)`);
      progress.update(epoch + 1, `loss ${(lossSum / Math.max(1, steps)).toFixed(4)}`);
      await new Promise((r) => setImmediate(r));
    }
    progress.done();
    return (E.dataSync() as Float32Array).slice(0, V * o.dim);
  } finally {
    optimizer.dispose();
    E.dispose();
    padMask.dispose();
  }
}

/**
 * Cosine nearest neighbours of one row of a [n, dim] embedding matrix (for inspection and tests).
 * @returns the `k` most similar other rows, most similar first.
 */
export function nearestNeighbours(emb: Float32Array, dim: number, row: number, k: number): number[] {
  const n = emb.length / dim;
  const norm = (i: number) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (emb[i * dim + j] as number) ** 2;
    return Math.sqrt(s) || 1;
  };
  const nr = norm(row);
  const sims: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (i === row) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += (emb[i * dim + j] as number) * (emb[row * dim + j] as number);
    sims.push([s / (nr * norm(i)), i]);
  }
  sims.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return sims.slice(0, k).map(([, i]) => i);
}
