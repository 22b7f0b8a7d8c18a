/** One gradient computation, shared by the main thread and the data-parallel workers. */
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
  const vars = [...model.weights.values()];
  const { value, grads } = tf.variableGrads(() => model.loss(batch, denom, dropSeed), vars);
  const loss = value.dataSync()[0] as number;
  value.dispose();
  const out = new Map<string, Tensor>();
  for (const [name, v] of model.weights) {
    const g = grads[v.name];
    if (g) out.set(name, g);
  }
  return { loss, grads: out };
}
