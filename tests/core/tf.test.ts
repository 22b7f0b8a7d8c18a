import { describe, expect, it } from 'vitest';
import { initTf, tf, tidyData } from '../../src/core/tf.js';

/** Loss and gradients of embedding -> matMul -> softmax cross-entropy, on the active backend. */
function lossAndGrads(): { loss: number; grads: Float32Array[] } {
  return tf.tidy(() => {
    const emb = tf.variable(tf.randomNormal([40, 8], 0, 1, 'float32', 7), true, 'emb_t');
    const w = tf.variable(tf.randomNormal([8, 40], 0, 1, 'float32', 8), true, 'w_t');
    const ids = tf.tensor2d(
      [
        [1, 2, 3],
        [4, 5, 1],
      ],
      [2, 3],
      'int32',
    );
    const labels = tf.oneHot(tf.tensor1d([3, 4, 5, 6, 7, 8], 'int32'), 40);
    // matMul with transposeB exercises the patched transposed path in the forward pass too
    const { value, grads } = tf.variableGrads(() => {
      const h = tf.reshape(tf.gather(emb, ids), [6, 8]);
      const logits = tf.matMul(h, tf.transpose(w), false, true);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    });
    const out = {
      loss: value.dataSync()[0] as number,
      grads: [grads.emb_t!.dataSync(), grads.w_t!.dataSync()] as Float32Array[],
    };
    emb.dispose();
    w.dispose();
    return out;
  });
}

describe('TensorFlow.js seam', () => {
  it('picks wasm when tfjs-node is absent, and wasm gradients match the cpu backend', async () => {
    const name = await initTf();
    expect(['tensorflow', 'wasm']).toContain(name);
    const before = tf.memory().numTensors;
    const a = lossAndGrads();
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend('cpu');
    const b = lossAndGrads();
    await tf.setBackend(name);
    expect(a.loss).toBeCloseTo(b.loss, 4);
    for (let g = 0; g < 2; g++) {
      const ga = a.grads[g]!;
      const gb = b.grads[g]!;
      expect(ga.length).toBe(gb.length);
      let maxDiff = 0;
      let norm = 0;
      for (let i = 0; i < ga.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ga[i]! - gb[i]!));
        norm += Math.abs(gb[i]!);
      }
      expect(norm).toBeGreaterThan(0);
      expect(maxDiff).toBeLessThan(1e-4);
    }
  });

  it('transposed matMul gives the same values as transposing first', async () => {
    await initTf();
    const [x, y] = tf.tidy(() => {
      const a = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 1);
      const b = tf.randomNormal([2, 4, 5], 0, 1, 'float32', 2);
      return [
        tf.matMul(a, b, true, true).arraySync(),
        tf.matMul(tf.transpose(a, [0, 2, 1]), tf.transpose(b, [0, 2, 1])).arraySync(),
      ];
    });
    expect(x).toEqual(y);
  });
});

describe('wasm OneHot patch', () => {
  it('gives the same float32 one-hot as the cpu backend', async () => {
    const name = await initTf();
    const run = () => tf.tidy(() => tf.oneHot(tf.tensor1d([2, 0, 1], 'int32'), 3, 1, 0, 'float32').arraySync());
    const a = run();
    await tf.setBackend('cpu');
    const b = run();
    await tf.setBackend(name);
    expect(a).toEqual(b);
    expect(a).toEqual([
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
    ]);
  });
});

describe('tidyData', () => {
  it('returns the values of the tensor built inside and leaves no tensor behind', async () => {
    await initTf();
    const before = tf.memory().numTensors;
    const v = tidyData(() => tf.add(tf.tensor1d([1, 2, 3]), tf.scalar(1)));
    expect(Array.from(v)).toEqual([2, 3, 4]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
