/**
 * A batched matMul for tfjs's wasm backend. wasm's own BatchMatMul hands 2-D products (one shared
 * right-hand matrix) to XNNPACK but runs true batched products (attention's QK^T and PV, one matrix
 * pair per sequence and head) through a scalar loop at ~3 GFLOP/s; this SIMD kernel (bmm.wat) runs
 * them in place in tfjs's heap, with no copies.
 */
import { WASM_BASE64 } from './bmm-wasm.js';

export type BmmFn = (
  a: number,
  b: number,
  c: number,
  batch: number,
  m: number,
  k: number,
  n: number,
  strideA: number,
  strideB: number,
) => void;

/** The part of the WebAssembly global used here (the project's lib settings do not declare it). */
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (mod: object, imports: object) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;

/** Instantiates the kernel over `memory` (tfjs's wasm heap, a WebAssembly.Memory); undefined when the engine refuses it. */
export function createBmm(memory: unknown): BmmFn | undefined {
  try {
    const mod = new wasm.Module(Buffer.from(WASM_BASE64, 'base64'));
    const inst = new wasm.Instance(mod, { env: { memory } });
    return inst.exports.bmm as BmmFn;
  } catch {
    return undefined; // no SIMD, or a shared (threaded) heap: callers keep the original kernel
  }
}
