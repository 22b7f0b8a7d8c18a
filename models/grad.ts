/** One gradient computation, shared by the main thread, the data-parallel workers and SASRec. */
import { type Tensor, tf } from '../src/core/tf.js';
import type { TrainBatch } from './batch.js';
import type { CodeTransformer } from './transformer.js';

/**
 * Loss and gradients of `batch` (or a shard of it) w.r.t. every weight.
 * @param denom the target count of the whole batch the shard belongs to
 * @returns loss (scalar number) and name -> gradient tensors (caller disposes)
 */
export function computeGrads(
  model: CodeTransformer,
  batch: TrainBatch,
  denom: number,
  dropSeed: number | undefined,
): { loss: number; grads: Map<string, Tensor> } {
  return weightGrads(model.weights, () => model.loss(batch, denom, dropSeed));
}

/**
 * Value and gradients of a scalar loss w.r.t. a model's weights (any sequence model).
 * @param weights name -> variable
 * @returns loss (scalar number) and name -> gradient tensors (caller disposes)
 */
export function weightGrads(
  weights: ReadonlyMap<string, tf.Variable>,
  lossFn: () => tf.Scalar,
): { loss: number; grads: Map<string, Tensor> } {
  const { value, grads } = tf.variableGrads(lossFn, [...weights.values()]);
  const loss = value.dataSync()[0] as number;
  value.dispose();
  const out = new Map<string, Tensor>();
  for (const [name, v] of weights) {
    const g = grads[v.name];
    if (g) out.set(name, g);
  }
  return { loss, grads: out };
}
