/**
 * The RQ-VAE of TIGER (Rajput et al. 2023, "Recommender Systems with Generative Retrieval") in
 * TensorFlow.js, with the optional LETTER terms (Wang et al. 2024): a collaborative InfoNCE
 * regulariser, a codebook diversity regulariser and Sinkhorn-balanced assignment on the last level.
 *
 * Shapes: input x [n, d] -> MLP encoder (ReLU between layers) -> latent z [n, latentDim] -> residual
 * quantisation over L codebooks [K_l, latentDim] -> zq (straight-through) -> MLP decoder -> x^ [n, d].
 * Loss = mean (x - x^)^2 + sum_l [ mean (sg[r_l] - e_l)^2 + beta mean (r_l - sg[e_l])^2 ] (+ LETTER terms).
 *
 * Deliberate choices (documented differences):
 * - inputs are divided by their global RMS (stored as `inputScale`) so the reconstruction MSE has the
 *   same scale whatever the embedding source;
 * - the next residual is r_{l+1} = r_l - sg[e_l], so every level's commitment term trains the encoder
 *   (LETTER subtracts the straight-through output, which stops that gradient);
 * - weights are Xavier-normal from the seeded Rng, codebooks from residual k-means over the latents of
 *   all items (LETTER uses constrained k-means on all items; TIGER k-means on the first batch);
 * - optional dead-code reset: a code unused for a whole epoch moves to a random residual of that level.
 */
import { join } from 'node:path';
import { readF32, readJson, writeF32, writeJson } from '../../src/core/artifact.js';
import { SemidError } from '../../src/core/errors.js';
import { track } from '../../src/core/progress.js';
import type { Rng } from '../../src/core/rng.js';
import { initTf, tf } from '../../src/core/tf.js';
import { balancedKmeans, sqDistances } from '../shared/kmeans.js';
import { sinkhornAssign } from '../shared/sinkhorn.js';
import { fitResidualKmeans } from './residual.js';

/** Training configuration of the RQ-VAE. */
export interface RqVaeTrainConfig {
  /** Hidden layer sizes of the encoder (the decoder mirrors them). */
  hidden: number[];
  latentDim: number;
  /** Codebook size per learned level, e.g. [256, 256, 256]. */
  levelSizes: number[];
  /** Commitment weight beta. */
  beta: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Initialise codebooks by residual k-means over the initial latents (else small uniform values). */
  kmeansInit: boolean;
  kmeansIters: number;
  /** Reset codes unused during an epoch to random residuals. */
  deadCodeReset: boolean;
  /** Sinkhorn-balanced assignment on the last level while training (LETTER). */
  lastLevelSinkhorn: boolean;
  /** Sinkhorn epsilon relative to the distance range scaled to [0, 1]. */
  sinkhornEpsilon: number;
  sinkhornIters: number;
  /** Safety cap on training wall time in seconds (0 = none). Reaching it breaks same-seed determinism and is reported. */
  maxTrainSeconds: number;
}

/** LETTER's extra training terms. */
export interface LetterTerms {
  /** [numItems, cfDim] float32 collaborative embeddings aligned with the training rows. */
  cf: Float32Array;
  cfDim: number;
  /** Weight of the collaborative InfoNCE loss. */
  alpha: number;
  /** InfoNCE temperature. */
  temperature: number;
  /** Weight of the diversity loss. */
  diversityWeight: number;
  /** Groups the code embeddings of each level are clustered into (re-clustered every epoch). */
  diversityClusters: number;
}

/** Mean losses of one epoch. */
export interface EpochLoss {
  epoch: number;
  recon: number;
  quant: number;
  cf?: number;
  diversity?: number;
  /** Codes used per level during the epoch. */
  used: number[];
  /** Codes reset (dead-code reset) after the epoch, per level. */
  reset: number[];
}

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

/** Identity forward, zero gradient (sg[.] in the VQ-VAE papers). */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;

/** Row-wise L2 normalisation of [B, D]. */
function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12)));
}

function xavier(rows: number, cols: number, rng: Rng): Float32Array {
  const std = Math.sqrt(2 / (rows + cols));
  const a = new Float32Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal() * std;
  return a;
}

function dense(rows: number, cols: number, rng: Rng): Dense {
  const w = xavier(rows, cols, rng);
  // tf.variable shares the initial tensor's data: create it inside tidy so that tensor is released
  return tf.tidy(() => ({
    w: tf.variable(tf.tensor2d(w, [rows, cols])),
    b: tf.variable(tf.zeros([cols])),
  }));
}

function mlp(x: tf.Tensor2D, layers: readonly { w: tf.Tensor; b: tf.Tensor }[]): tf.Tensor2D {
  let h = x;
  layers.forEach((l, i) => {
    h = tf.add(tf.matMul(h, l.w as tf.Tensor2D), l.b);
    if (i < layers.length - 1) h = tf.relu(h);
  });
  return h;
}

/** Squared distances [B, K] between rows of r [B, D] and codebook e [K, D]. */
function distances(r: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor2D {
  const rn = tf.sum(tf.square(r), 1, true);
  const en = tf.transpose(tf.sum(tf.square(e), 1, true));
  return tf.add(tf.sub(rn, tf.mul(2, tf.matMul(r, e, false, true))), en);
}

function mean(a: readonly number[]): number {
  return a.length === 0 ? 0 : a.reduce((s, v) => s + v, 0) / a.length;
}

/** Global RMS of a [n, d] matrix (1 for an all-zero one). */
export function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) * (x[i] as number);
  const r = Math.sqrt(s / Math.max(1, x.length));
  return r > 0 ? r : 1;
}

/** One dense layer's weights as plain arrays. */
export interface DenseWeights {
  /** [rows, cols] float32, row-major. */
  w: Float32Array;
  /** [cols] float32. */
  b: Float32Array;
  rows: number;
  cols: number;
}

/**
 * A trained encoder + codebooks as plain arrays: maps item vectors to codes. Holds no tensors (they
 * are created inside tf.tidy per call), so it needs no dispose.
 */
export class RqVaeEncoder {
  readonly inputDim: number;
  readonly latentDim: number;
  readonly levelSizes: readonly number[];
  /** Inputs are divided by this before the encoder. */
  readonly inputScale: number;
  readonly layers: readonly DenseWeights[];
  /** One [levelSizes[l], latentDim] float32 codebook per level. */
  readonly codebooks: readonly Float32Array[];

  constructor(
    inputDim: number,
    latentDim: number,
    levelSizes: readonly number[],
    inputScale: number,
    layers: readonly DenseWeights[],
    codebooks: readonly Float32Array[],
  ) {
    const bad =
      layers.length === 0 ||
      layers[0]?.rows !== inputDim ||
      layers[layers.length - 1]?.cols !== latentDim ||
      layers.some(
        (l, i) => l.w.length !== l.rows * l.cols || l.b.length !== l.cols || (i > 0 && layers[i - 1]?.cols !== l.rows),
      ) ||
      codebooks.length !== levelSizes.length ||
      codebooks.some((c, l) => c.length !== (levelSizes[l] as number) * latentDim);
    if (bad) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `RQ-VAE encoder weights do not fit together (input ${inputDim}, latent ${latentDim}, layers ${layers.map((l) => `${l.rows}x${l.cols}`).join(' -> ')}, codebooks ${codebooks.length} for ${levelSizes.length} levels)`,
      );
    }
    this.inputDim = inputDim;
    this.latentDim = latentDim;
    this.levelSizes = [...levelSizes];
    this.inputScale = inputScale;
    this.layers = layers;
    this.codebooks = codebooks;
  }

  /**
   * Latents of [n, inputDim] float32 vectors.
   * @returns [n, latentDim] float32.
   */
  latents(x: Float32Array, n: number): Float32Array {
    if (x.length !== n * this.inputDim) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `RQ-VAE encoder expects [n, ${this.inputDim}] vectors (the dimension it was trained on), got length ${x.length} for n=${n}`,
      );
    }
    const out = new Float32Array(n * this.latentDim);
    const step = 2048;
    for (let s = 0; s < n; s += step) {
      const m = Math.min(step, n - s);
      const z = tf.tidy(() => {
        const ws = this.layers.map((l) => ({ w: tf.tensor2d(l.w, [l.rows, l.cols]), b: tf.tensor1d(l.b) }));
        const xb = tf.div(
          tf.tensor2d(x.subarray(s * this.inputDim, (s + m) * this.inputDim), [m, this.inputDim]),
          this.inputScale,
        );
        return mlp(xb as tf.Tensor2D, ws);
      });
      out.set(z.dataSync() as Float32Array, s * this.latentDim);
      z.dispose();
    }
    return out;
  }

  /**
   * Nearest-code residual quantisation of [n, inputDim] vectors.
   * @returns codes [n, L] int32 row-major, and the squared distances [n, K_last] of the last level's residual to its codebook.
   */
  encodeWithDistances(x: Float32Array, n: number): { codes: Int32Array; lastDistances: Float32Array } {
    const z = this.latents(x, n);
    const L = this.levelSizes.length;
    const D = this.latentDim;
    const codes = new Int32Array(n * L);
    const res = new Float32Array(z);
    let lastDistances: Float32Array = new Float32Array(0);
    for (let l = 0; l < L; l++) {
      const K = this.levelSizes[l] as number;
      const cb = this.codebooks[l] as Float32Array;
      const dist = sqDistances(res, n, D, cb, K);
      for (let i = 0; i < n; i++) {
        let best = 0;
        let bv = dist[i * K] as number;
        for (let c = 1; c < K; c++) {
          const v = dist[i * K + c] as number;
          if (v < bv) {
            bv = v;
            best = c;
          }
        }
        codes[i * L + l] = best;
        for (let j = 0; j < D; j++) res[i * D + j] = (res[i * D + j] as number) - (cb[best * D + j] as number);
      }
      if (l === L - 1) lastDistances = dist;
    }
    return { codes, lastDistances };
  }

  /** Codes [n, L] int32 of [n, inputDim] vectors. */
  encode(x: Float32Array, n: number): Int32Array {
    return this.encodeWithDistances(x, n).codes;
  }

  /** Writes `rqvae.json`, `enc<i>_w.f32`, `enc<i>_b.f32` and `codebook<l>.f32` into `dir`. */
  async save(dir: string): Promise<void> {
    await writeJson(join(dir, 'rqvae.json'), {
      inputDim: this.inputDim,
      latentDim: this.latentDim,
      levelSizes: this.levelSizes,
      inputScale: this.inputScale,
      layers: this.layers.map((l) => [l.rows, l.cols]),
    });
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i] as DenseWeights;
      await writeF32(join(dir, `enc${i}_w.f32`), l.w);
      await writeF32(join(dir, `enc${i}_b.f32`), l.b);
    }
    for (let l = 0; l < this.codebooks.length; l++) {
      await writeF32(join(dir, `codebook${l}.f32`), this.codebooks[l] as Float32Array);
    }
  }

  /** Reads what `save` wrote (SEMID_ERR_ARTIFACT_MISSING / _CORRUPT). */
  static async load(dir: string): Promise<RqVaeEncoder> {
    await initTf();
    const m = await readJson<{
      inputDim: number;
      latentDim: number;
      levelSizes: number[];
      inputScale: number;
      layers: [number, number][];
    }>(join(dir, 'rqvae.json'), 'rqvae encoder');
    if (!m || !Array.isArray(m.layers) || !Array.isArray(m.levelSizes) || typeof m.inputScale !== 'number') {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `${dir}/rqvae.json needs inputDim, latentDim, levelSizes, inputScale, layers`,
      );
    }
    const layers: DenseWeights[] = [];
    for (let i = 0; i < m.layers.length; i++) {
      const [rows, cols] = m.layers[i] as [number, number];
      layers.push({
        rows,
        cols,
        w: await readF32(join(dir, `enc${i}_w.f32`), rows * cols),
        b: await readF32(join(dir, `enc${i}_b.f32`), cols),
      });
    }
    const cbs: Float32Array[] = [];
    for (let l = 0; l < m.levelSizes.length; l++) {
      cbs.push(await readF32(join(dir, `codebook${l}.f32`), (m.levelSizes[l] as number) * m.latentDim));
    }
    return new RqVaeEncoder(m.inputDim, m.latentDim, m.levelSizes, m.inputScale, layers, cbs);
  }
}

/** Result of `trainRqVae`. */
export interface RqVaeTrainResult {
  encoder: RqVaeEncoder;
  /** Per-epoch mean losses. */
  history: EpochLoss[];
  /** Mean squared reconstruction error per input entry (in the original input scale) after training. */
  reconstructionError: number;
  /** Epochs actually run (less than configured when maxTrainSeconds was reached). */
  epochsRun: number;
  stoppedByTimeCap: boolean;
}

/**
 * Trains an RQ-VAE (optionally with LETTER's terms) on [n, d] float32 item vectors.
 * Seeded by `rng`. Every tensor it creates is freed before it returns.
 */
export async function trainRqVae(
  data: Float32Array,
  n: number,
  d: number,
  cfg: RqVaeTrainConfig,
  rng: Rng,
  opts: { letter?: LetterTerms; log?: (line: string) => void } = {},
): Promise<RqVaeTrainResult> {
  await initTf();
  if (data.length !== n * d || n < 2) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `trainRqVae: expected [n >= 2, d=${d}] vectors, got length ${data.length} for n=${n}`,
    );
  }
  const letter = opts.letter;
  if (letter && letter.cf.length !== n * letter.cfDim) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `LETTER collaborative embeddings must be [${n}, ${letter.cfDim}], got length ${letter.cf.length}`,
    );
  }
  const log = opts.log ?? (() => {});
  const L = cfg.levelSizes.length;
  const D = cfg.latentDim;
  const scale = rms(data);
  const dims = [d, ...cfg.hidden, D];
  const enc: Dense[] = [];
  const dec: Dense[] = [];
  for (let i = 0; i + 1 < dims.length; i++) enc.push(dense(dims[i] as number, dims[i + 1] as number, rng));
  const rdims = [...dims].reverse();
  for (let i = 0; i + 1 < rdims.length; i++) dec.push(dense(rdims[i] as number, rdims[i + 1] as number, rng));
  const xAll = tf.tidy(() => tf.div(tf.tensor2d(data, [n, d]), scale)) as tf.Tensor2D;
  const cfAll = letter ? tf.tidy(() => l2Normalize(tf.tensor2d(letter.cf, [n, letter.cfDim]))) : undefined;
  const proj = letter ? dense(D, letter.cfDim, rng) : undefined;

  // codebook initialisation
  const initCb: Float32Array[] = [];
  if (cfg.kmeansInit) {
    const z0 = tf.tidy(() => mlp(xAll, enc));
    const zData = z0.dataSync() as Float32Array;
    z0.dispose();
    const fit = fitResidualKmeans(zData, n, D, { levelSizes: cfg.levelSizes, iters: cfg.kmeansIters }, rng);
    initCb.push(...fit.quantizer.codebooks);
  } else {
    for (const K of cfg.levelSizes) {
      const a = new Float32Array(K * D);
      for (let i = 0; i < a.length; i++) a[i] = (rng.next() * 2 - 1) / K;
      initCb.push(a);
    }
  }
  const codebooks = cfg.levelSizes.map((K, l) =>
    tf.tidy(() => tf.variable(tf.tensor2d(initCb[l] as Float32Array, [K, D]))),
  );
  const optimizer = tf.train.adam(cfg.learningRate);
  const variables = [...enc, ...dec, ...(proj ? [proj] : [])].flatMap((l) => [l.w, l.b]).concat(codebooks);

  const history: EpochLoss[] = [];
  const t0 = Date.now();
  let stoppedByTimeCap = false;
  let epoch = 0;
  const order = Array.from({ length: n }, (_, i) => i);
  const progress = track('rqvae training', cfg.epochs, { unit: 'epoch' });
  try {
    for (; epoch < cfg.epochs; epoch++) {
      if (cfg.maxTrainSeconds > 0 && (Date.now() - t0) / 1000 > cfg.maxTrainSeconds) {
        stoppedByTimeCap = true;
        log(`rqvae: time cap of ${cfg.maxTrainSeconds} s reached after ${epoch} epochs`);
        break;
      }
      rng.shuffle(order);
      // LETTER diversity: group each level's code embeddings (balanced k-means) once per epoch
      const groups: { label: Int32Array; members: number[][] }[] = [];
      if (letter && letter.diversityWeight > 0) {
        for (let l = 0; l < L; l++) {
          const K = cfg.levelSizes[l] as number;
          const g = Math.min(letter.diversityClusters, Math.max(1, Math.floor(K / 2)));
          const cb = codebooks[l]?.dataSync() as Float32Array;
          const km = balancedKmeans(cb, K, D, g, rng, { iters: 5 });
          const members: number[][] = Array.from({ length: g }, () => []);
          km.assign.forEach((c, code) => {
            members[c]?.push(code);
          });
          groups.push({ label: km.assign, members });
        }
      }
      const usage = cfg.levelSizes.map((K) => new Int32Array(K));
      const lastResiduals: Float32Array[] = [];
      const sums = { recon: [] as number[], quant: [] as number[], cf: [] as number[], div: [] as number[] };
      for (let s = 0; s < n; s += cfg.batchSize) {
        const rows = order.slice(s, s + cfg.batchSize);
        const B = rows.length;
        if (B < 2 && s > 0) continue;
        const idxT = tf.tensor1d(rows, 'int32');
        const parts: { recon?: tf.Scalar; quant?: tf.Scalar; cf?: tf.Scalar; div?: tf.Scalar } = {};
        const step = tf.tidy(() => {
          const xb = tf.gather(xAll, idxT) as tf.Tensor2D;
          const { value, grads } = tf.variableGrads(() => {
            const z = mlp(xb, enc);
            let r: tf.Tensor2D = z;
            let qsum: tf.Tensor2D = tf.zerosLike(z);
            let quant: tf.Scalar = tf.scalar(0);
            let div: tf.Scalar = tf.scalar(0);
            for (let l = 0; l < L; l++) {
              const K = cfg.levelSizes[l] as number;
              const cb = codebooks[l] as tf.Variable;
              const dist = distances(stopGradient(r) as tf.Tensor2D, stopGradient(cb) as tf.Tensor2D);
              let codes: Int32Array;
              if (cfg.lastLevelSinkhorn && l === L - 1) {
                codes = sinkhornAssign(dist.dataSync() as Float32Array, B, K, {
                  epsilon: cfg.sinkhornEpsilon,
                  iters: cfg.sinkhornIters,
                });
              } else {
                codes = tf.argMin(dist, 1).dataSync() as Int32Array;
              }
              const u = usage[l] as Int32Array;
              for (const c of codes) u[c] = (u[c] as number) + 1;
              const codesT = tf.tensor1d(codes, 'int32');
              const e = tf.gather(cb, codesT) as tf.Tensor2D;
              const rs = stopGradient(r);
              const es = stopGradient(e);
              quant = tf.add(
                quant,
                tf.add(tf.mean(tf.square(tf.sub(rs, e))), tf.mul(cfg.beta, tf.mean(tf.square(tf.sub(r, es))))),
              ) as tf.Scalar;
              if (letter && letter.diversityWeight > 0) {
                const grp = groups[l] as { label: Int32Array; members: number[][] };
                const pos = new Int32Array(B);
                const keep: number[] = [];
                codes.forEach((c, i) => {
                  const mates = grp.members[grp.label[c] as number] as number[];
                  if (mates.length < 2) return;
                  let p = c;
                  while (p === c) p = mates[rng.int(mates.length)] as number;
                  pos[i] = p;
                  keep.push(i);
                });
                if (keep.length > 0) {
                  const keepT = tf.tensor1d(keep, 'int32');
                  const ek = tf.gather(e, keepT) as tf.Tensor2D;
                  const sim = tf.matMul(ek, cb, false, true);
                  const selfMask = tf.oneHot(tf.gather(codesT, keepT), K);
                  const logits = tf.sub(sim, tf.mul(selfMask, 1e9));
                  const target = tf.oneHot(
                    tf.tensor1d(
                      keep.map((i) => pos[i] as number),
                      'int32',
                    ),
                    K,
                  );
                  div = tf.add(div, tf.losses.softmaxCrossEntropy(target, logits)) as tf.Scalar;
                }
              }
              if (cfg.deadCodeReset) lastResiduals[l] = rs.dataSync() as Float32Array;
              r = tf.sub(r, es) as tf.Tensor2D;
              qsum = tf.add(qsum, e) as tf.Tensor2D;
            }
            // straight-through: forward value = sum of codes, gradient flows to z
            const zq = tf.add(z, stopGradient(tf.sub(qsum, z))) as tf.Tensor2D;
            const xr = mlp(zq, dec);
            const recon = tf.mean(tf.square(tf.sub(xb, xr))) as tf.Scalar;
            let total = tf.add(recon, quant) as tf.Scalar;
            parts.recon = tf.keep(recon);
            parts.quant = tf.keep(quant);
            if (letter && cfAll && proj) {
              const p = l2Normalize(tf.add(tf.matMul(zq, proj.w), proj.b)) as tf.Tensor2D;
              const c = tf.gather(cfAll, idxT) as tf.Tensor2D;
              const logits = tf.div(tf.matMul(p, c, false, true), letter.temperature);
              const cf = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.range(0, B, 1, 'int32'), B), logits) as tf.Scalar;
              parts.cf = tf.keep(cf);
              total = tf.add(total, tf.mul(letter.alpha, cf)) as tf.Scalar;
              if (letter.diversityWeight > 0) {
                const dv = tf.div(div, L) as tf.Scalar;
                parts.div = tf.keep(dv);
                total = tf.add(total, tf.mul(letter.diversityWeight, dv)) as tf.Scalar;
              }
            }
            return total;
          }, variables);
          optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0]);
          return value;
        });
        step.dispose();
        idxT.dispose();
        for (const [k, t] of Object.entries(parts) as [keyof typeof sums | 'div', tf.Scalar][]) {
          (sums[k as keyof typeof sums] as number[]).push(t.dataSync()[0] as number);
          t.dispose();
        }
      }
      const reset = cfg.levelSizes.map(() => 0);
      if (cfg.deadCodeReset && epoch + 1 < cfg.epochs) {
        for (let l = 0; l < L; l++) {
          const u = usage[l] as Int32Array;
          const dead: number[] = [];
          u.forEach((c, code) => {
            if (c === 0) dead.push(code);
          });
          const pool = lastResiduals[l];
          if (dead.length === 0 || !pool) continue;
          const poolN = pool.length / D;
          const cb = (codebooks[l] as tf.Variable).dataSync() as Float32Array;
          const next = new Float32Array(cb);
          for (const code of dead) {
            const src = rng.int(poolN);
            next.set(pool.subarray(src * D, src * D + D), code * D);
          }
          const t = tf.tensor2d(next, [cfg.levelSizes[l] as number, D]);
          (codebooks[l] as tf.Variable).assign(t);
          t.dispose();
          reset[l] = dead.length;
        }
      }
      const h: EpochLoss = {
        epoch,
        recon: mean(sums.recon),
        quant: mean(sums.quant),
        used: usage.map((u) => u.reduce((a, c) => a + (c > 0 ? 1 : 0), 0)),
        reset,
      };
      if (sums.cf.length) h.cf = mean(sums.cf);
      if (sums.div.length) h.diversity = mean(sums.div);
      history.push(h);
      progress.update(epoch + 1, `recon ${h.recon.toFixed(4)} quant ${h.quant.toFixed(4)}`);
      if (epoch % 10 === 0 || epoch === cfg.epochs - 1) {
        log(
          `rqvae epoch ${epoch + 1}/${cfg.epochs}: recon=${h.recon.toFixed(4)} quant=${h.quant.toFixed(4)}${h.cf !== undefined ? ` cf=${h.cf.toFixed(3)}` : ''}${h.diversity !== undefined ? ` div=${h.diversity.toFixed(3)}` : ''} used=[${h.used}] (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
      await new Promise((r) => setImmediate(r));
    }
    progress.done();
    // reconstruction error through the quantised path, in the input's original scale
    let se = 0;
    const step = 2048;
    for (let s = 0; s < n; s += step) {
      const m = Math.min(step, n - s);
      const v = tf.tidy(() => {
        const xb = tf.slice(xAll, [s, 0], [m, d]);
        let r = mlp(xb, enc);
        let q = tf.zerosLike(r);
        for (let l = 0; l < L; l++) {
          const cb = codebooks[l] as tf.Variable;
          const e = tf.gather(cb, tf.argMin(distances(r, cb as tf.Tensor2D), 1)) as tf.Tensor2D;
          r = tf.sub(r, e);
          q = tf.add(q, e);
        }
        return tf.sum(tf.square(tf.sub(xb, mlp(q as tf.Tensor2D, dec))));
      });
      se += v.dataSync()[0] as number;
      v.dispose();
    }
    const reconstructionError = (se / (n * d)) * scale * scale;
    const encoder = new RqVaeEncoder(
      d,
      D,
      cfg.levelSizes,
      scale,
      enc.map((l) => ({
        w: Float32Array.from(l.w.dataSync() as Float32Array),
        b: Float32Array.from(l.b.dataSync() as Float32Array),
        rows: l.w.shape[0] as number,
        cols: l.w.shape[1] as number,
      })),
      codebooks.map((c) => Float32Array.from(c.dataSync() as Float32Array)),
    );
    return { encoder, history, reconstructionError, epochsRun: epoch, stoppedByTimeCap };
  } finally {
    optimizer.dispose();
    xAll.dispose();
    cfAll?.dispose();
    for (const l of [...enc, ...dec, ...(proj ? [proj] : [])]) {
      l.w.dispose();
      l.b.dispose();
    }
    for (const c of codebooks) c.dispose();
  }
}
