/**
 * The single TensorFlow.js seam: the only module that imports TensorFlow.js. It picks the backend
 * (`tensorflow` when @tensorflow/tfjs-node is installed, else `wasm`, else `cpu`; `SEMID_BACKEND`
 * overrides) and registers what the wasm backend lacks for training:
 *  - an `UnsortedSegmentSum` kernel (the gradient of every embedding lookup, tf.gather, needs it);
 *  - a fast path for matMul with transposeA/transposeB: wasm's transposed matMul is 10-50x slower
 *    than transposing first, and every matMul gradient uses it;
 *  - a correct float32 OneHot (wasm's writes int32 bit patterns into a float32 output).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's CJS bundle registers no gradients; tfjs-layers' bundle registers all of core's (global registry).
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { SemidError } from './errors.js';
import { type BmmFn, createBmm } from './kernels/bmm.js';

export { tf };
export type Tensor = tf.Tensor;
export type Variable = tf.Variable;

/** Backends semid can run on, fastest first. */
/**
 * Runs `fn` inside tf.tidy and returns the values of the tensor it builds (then frees it). Never
 * return a typed array from tf.tidy itself: tidy walks its result as a container, key by key, which
 * takes seconds for a few million values.
 */
export function tidyData(fn: () => tf.Tensor): Float32Array {
  const t = tf.tidy(fn);
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let ready: Promise<BackendName> | undefined;

/**
 * Initialises TensorFlow.js once per process and returns the backend in use.
 * @param prefer a backend name; defaults to env `SEMID_BACKEND`, else the fastest available.
 */
export function initTf(prefer?: BackendName): Promise<BackendName> {
  if (!ready) ready = init(prefer ?? (process.env.SEMID_BACKEND as BackendName | undefined));
  return ready;
}

async function init(prefer: BackendName | undefined): Promise<BackendName> {
  if (prefer !== undefined && !BACKENDS.includes(prefer)) {
    throw new SemidError(
      'SEMID_ERR_BAD_CONFIG',
      `unknown TensorFlow.js backend "${prefer}" (from SEMID_BACKEND or --backend); expected one of ${BACKENDS.join(', ')}`,
    );
  }
  tf.env().set('PROD', true);
  if (prefer === undefined || prefer === 'tensorflow') {
    if (await tryTfjsNode()) {
      if (await tf.setBackend('tensorflow')) return 'tensorflow';
    }
    if (prefer === 'tensorflow') {
      throw new SemidError(
        'SEMID_ERR_BAD_CONFIG',
        'backend "tensorflow" was asked for but @tensorflow/tfjs-node is not installed (it needs internet at install time); use wasm',
      );
    }
  }
  if (prefer === undefined || prefer === 'wasm') {
    patchWasm();
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return 'wasm';
    }
    if (prefer === 'wasm') throw new SemidError('SEMID_ERR_INTERNAL', 'the wasm backend failed to initialise');
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}

async function tryTfjsNode(): Promise<boolean> {
  try {
    const require = createRequire(import.meta.url);
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    return false;
  }
  try {
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return true;
  } catch {
    return false;
  }
}

let patched = false;

/** Registers the wasm training patches. Idempotent. */
export function patchWasm(): void {
  if (patched) return;
  patched = true;
  type WasmBackend = any;

  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const be = backend as WasmBackend;
        const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
        const numSegments = (attrs as { numSegments: number }).numSegments;
        const xv = be.typedArrayFromHeap(x) as Float32Array;
        const ids = be.typedArrayFromHeap(segmentIds) as Int32Array;
        const idCount = segmentIds.shape.reduce((a: number, b: number) => a * b, 1);
        const inner = idCount === 0 ? 0 : xv.length / idCount;
        const innerShape = x.shape.slice(segmentIds.shape.length);
        const out = be.makeOutput([numSegments, ...innerShape], x.dtype);
        const ov = be.typedArrayFromHeap(out) as Float32Array;
        ov.fill(0);
        for (let i = 0; i < idCount; i++) {
          const s = ids[i] as number;
          if (s < 0 || s >= numSegments) continue; // TF semantics: out-of-range ids are dropped
          const src = i * inner;
          const dst = s * inner;
          for (let j = 0; j < inner; j++) ov[dst + j] = (ov[dst + j] as number) + (xv[src + j] as number);
        }
        return out;
      },
    });
  }

  // wasm's OneHot writes int32 bit patterns into a float32 output (tfjs 4.22): build int32, then cast.
  const oneHot = tf.getKernel('OneHot', 'wasm');
  const cast = tf.getKernel('Cast', 'wasm');
  if (oneHot && cast) {
    tf.unregisterKernel('OneHot', 'wasm');
    tf.registerKernel({
      ...oneHot,
      kernelFunc: (args) => {
        const attrs = args.attrs as { dtype: tf.DataType };
        if (attrs.dtype === 'int32') return oneHot.kernelFunc(args);
        const be = args.backend as WasmBackend;
        const ints = oneHot.kernelFunc({ ...args, attrs: { ...attrs, dtype: 'int32' } }) as tf.TensorInfo;
        const out = cast.kernelFunc({ inputs: { x: ints }, backend: be, attrs: { dtype: attrs.dtype } });
        be.disposeData(ints.dataId);
        return out;
      },
    });
  }

  // True batched products (attention) go to a SIMD kernel in tfjs's own heap (src/core/kernels/bmm.wat);
  // 2-D products (one shared right-hand matrix) stay on XNNPACK.
  let bmm: BmmFn | undefined | null = null; // null: not instantiated yet; undefined: unavailable
  const batched = (be: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo | undefined => {
    const ra = a.shape.length;
    if (ra < 3 || b.shape.length !== ra || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const lead = a.shape.slice(0, -2);
    if (lead.some((d, i) => d !== b.shape[i])) return undefined;
    const batch = lead.reduce((x, y) => x * y, 1);
    if (batch < 2) return undefined;
    const [m, k] = a.shape.slice(-2) as [number, number];
    const [k2, n] = b.shape.slice(-2) as [number, number];
    if (k !== k2) return undefined;
    if (bmm === null) bmm = createBmm(be.wasm.asm.memory);
    if (!bmm) return undefined;
    const out = be.makeOutput([...lead, m, n], 'float32') as tf.TensorInfo;
    const off = (t: tf.TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset as number;
    bmm(off(a), off(b), off(out), batch, m, k, n, m * k * 4, k * n * 4);
    return out;
  };

  const transposeCfg = tf.getKernel('Transpose', 'wasm');
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const orig = tf.getKernel(name, 'wasm');
    if (!orig || !transposeCfg) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...orig,
      kernelFunc: (args) => {
        const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
        const be = args.backend as WasmBackend;
        const inputs = { ...(args.inputs as Record<string, tf.TensorInfo>) };
        const temps: tf.TensorInfo[] = [];
        const swap = (t: tf.TensorInfo): tf.TensorInfo => {
          const perm = t.shape.map((_, i) => i);
          const r = perm.length;
          perm[r - 1] = r - 2;
          perm[r - 2] = r - 1;
          const out = transposeCfg.kernelFunc({ inputs: { x: t }, backend: be, attrs: { perm } }) as tf.TensorInfo;
          temps.push(out);
          return out;
        };
        if (attrs.transposeA) inputs.a = swap(inputs.a as tf.TensorInfo);
        if (attrs.transposeB) inputs.b = swap(inputs.b as tf.TensorInfo);
        const plain =
          temps.length === 0 ? args : { ...args, inputs, attrs: { ...attrs, transposeA: false, transposeB: false } };
        const res =
          (name === 'BatchMatMul' && batched(be, inputs.a as tf.TensorInfo, inputs.b as tf.TensorInfo)) ||
          orig.kernelFunc(plain);
        for (const t of temps) be.disposeData(t.dataId);
        return res;
      },
    });
  }
}

/** The active backend's name (after initTf). */
export function backendName(): string {
  return tf.getBackend();
}
