import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleWat } from '../../scripts/wat.js';
import { WASM_BASE64 } from '../../src/core/kernels/bmm-wasm.js';
import { initTf, tf } from '../../src/core/tf.js';

const root = join(import.meta.dirname, '..', '..');

describe('wasm batched matMul kernel', () => {
  it('the committed binary is the assembled bmm.wat', async () => {
    const src = readFileSync(join(root, 'src/core/kernels/bmm.wat'), 'utf8');
    const bytes = await assembleWat(src, 'bmm.wat');
    expect(Buffer.from(bytes).toString('base64')).toBe(WASM_BASE64);
  });

  // shapes cover the 4 x 8 SIMD blocks, row and column tails, k = 1 and nested batch dimensions
  const cases: [number[], number[], boolean, boolean][] = [
    [[3, 8, 16], [3, 16, 8], false, false],
    [[5, 7, 3], [5, 3, 13], false, false],
    [[2, 2, 4, 9], [2, 2, 9, 11], false, false],
    [[4, 6, 1], [4, 1, 10], false, false],
    [[6, 12, 5], [6, 20, 5], false, true],
    [[6, 5, 12], [6, 5, 20], true, false],
    [[2, 9, 17], [2, 17, 33], false, false],
  ];
  it.each(cases)('a %j x b %j (transposeA %s, transposeB %s) matches the cpu backend', async (sa, sb, ta, tb) => {
    const name = await initTf();
    const run = () =>
      tf.tidy(() => {
        const a = tf.randomNormal(sa, 0, 1, 'float32', 3);
        const b = tf.randomNormal(sb, 0, 1, 'float32', 4);
        return tf.matMul(a, b, ta, tb).dataSync().slice();
      });
    const before = tf.memory().numTensors;
    const x = run();
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend('cpu');
    const y = run();
    await tf.setBackend(name);
    expect(x.length).toBe(y.length);
    let maxDiff = 0;
    for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs((x[i] as number) - (y[i] as number)));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(y.some((v) => v !== 0)).toBe(true);
  });
});
