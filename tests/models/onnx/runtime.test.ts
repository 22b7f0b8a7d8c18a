/**
 * The runtime against the documented contract, with a hand-built toy model that follows it (as a model
 * trained elsewhere would): encode sums the embeddings of the real history tokens; step adds the
 * row's user's cache, the sum of its token embeddings and a second embedding of its last token, and
 * projects to the vocabulary. A plain TypeScript reference computes the same logits.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HistoryFormat, layoutHistories, writeOnnxDir } from '../../../models/onnx/format.js';
import { GraphBuilder } from '../../../models/onnx/proto.js';
import { OnnxModel } from '../../../models/onnx/runtime.js';
import { BOS, PAD, SEP, TokenLayout } from '../../../src/core/codes.js';
import { SemidError } from '../../../src/core/errors.js';
import type { BeamRow } from '../../../src/core/model.js';
import { createRng } from '../../../src/core/rng.js';
import type { Code } from '../../../src/core/types.js';

const layout = new TokenLayout([3, 4]); // vocab 3 + 7 = 10
const V = layout.vocabSize;
const D = 3;
const rng = createRng(7);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
const E1 = rand(V * D);
const E2 = rand(V * D);
const E3 = rand(V * D);
const W = rand(D * V);

function toyGraphs(): { encode: Uint8Array; step: Uint8Array } {
  const e = new GraphBuilder('encode');
  const hist = e.input('history', 'INT64', ['batch', 'T']);
  const mask = e.input('history_mask', 'INT64', ['batch', 'T']);
  const emb = e.gather(e.weight('E1', E1, [V, D]), hist); // [B,T,D]
  const m = e.unsqueeze(e.cast(mask, 'FLOAT'), [2]);
  const sum = e.reduceSum(e.mul(emb, m), [1]);
  e.output(sum, 'cache_sum', 'FLOAT', ['batch', D]);

  const s = new GraphBuilder('step');
  const cache = s.input('cache_sum', 'FLOAT', ['batch', D]);
  const tokens = s.input('tokens', 'INT64', ['batch', 'beams', 'S']);
  const c = s.unsqueeze(cache, [1]); // [B,1,D]
  const t = s.reduceSum(s.gather(s.weight('E2', E2, [V, D]), tokens), [2]); // [B,K,D]
  const last = s.squeeze(s.slice(tokens, [-1], [Number.MAX_SAFE_INTEGER], [2]), [2]); // [B,K]
  const l = s.gather(s.weight('E3', E3, [V, D]), last);
  const logits = s.matmul(s.add(s.add(c, t), l), s.weight('W', W, [D, V]));
  s.output(logits, 'logits', 'FLOAT', ['batch', 'beams', V]);
  return { encode: e.toModel(), step: s.toModel() };
}

/** The toy model's logits in plain TypeScript for one user's history tokens and step tokens. */
function reference(histTokens: readonly number[], stepTokens: readonly number[]): number[] {
  const h = new Array(D).fill(0);
  for (const tok of histTokens) for (let d = 0; d < D; d++) h[d] += E1[tok * D + d] as number;
  for (const tok of stepTokens) for (let d = 0; d < D; d++) h[d] += E2[tok * D + d] as number;
  const lastTok = stepTokens[stepTokens.length - 1] as number;
  for (let d = 0; d < D; d++) h[d] += E3[lastTok * D + d] as number;
  const out: number[] = [];
  for (let v = 0; v < V; v++) {
    let acc = 0;
    for (let d = 0; d < D; d++) acc += (h[d] as number) * (W[d * V + v] as number);
    out.push(acc);
  }
  return out;
}

describe('layoutHistories', () => {
  it('flattens codes with BOS and SEP, cuts to maxHistory, left-pads with a mask', () => {
    const fmt: HistoryFormat = { bos: true, sepAfterItem: true, start: 'bos' };
    const h = layoutHistories(
      [
        [
          [0, 1],
          [2, 3],
          [1, 0],
        ],
        [[2, 2]],
      ],
      layout,
      2,
      fmt,
    );
    // user 0 keeps its last two items: BOS (2,3)->[5,9] SEP (1,0)->[4,6] SEP
    expect(h.length).toBe(7);
    expect([...h.tokens].map(Number)).toEqual([BOS, 5, 9, SEP, 4, 6, SEP, PAD, PAD, PAD, BOS, 5, 8, SEP]);
    expect([...h.mask].map(Number)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1]);
    expect(h.start).toEqual([BOS, BOS]);
  });

  it('with start "last", moves the last history token to the start token', () => {
    const fmt: HistoryFormat = { bos: false, sepAfterItem: false, start: 'last' };
    const h = layoutHistories(
      [
        [[0, 1]],
        [
          [1, 2],
          [2, 0],
        ],
      ],
      layout,
      20,
      fmt,
    );
    expect(h.length).toBe(3);
    expect([...h.tokens].map(Number)).toEqual([PAD, PAD, 3, 4, 8, 5]);
    expect([...h.mask].map(Number)).toEqual([0, 0, 1, 1, 1, 1]);
    expect(h.start).toEqual([7, 6]);
  });

  it('rejects an empty history when the start token is the last history token', () => {
    const fmt: HistoryFormat = { bos: false, sepAfterItem: false, start: 'last' };
    expect(() => layoutHistories([[]], layout, 20, fmt)).toThrow(SemidError);
  });
});

describe('OnnxModel on a contract-following toy model', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'semid-onnx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const history of [
    { bos: true, sepAfterItem: false, start: 'bos' },
    { bos: false, sepAfterItem: true, start: 'last' },
  ] as HistoryFormat[]) {
    it(`gives the reference logits for every row, mixed prefix lengths (start ${history.start})`, async () => {
      const out = join(dir, `m-${history.start}`);
      const { encode, step } = toyGraphs();
      await writeOnnxDir(out, { vocabSize: V, levelSizes: [3, 4], maxHistory: 2, history }, encode, step);
      const model = await OnnxModel.load(out, { intraOpNumThreads: 1 });
      expect(model.vocabSize).toBe(V);
      const histories: Code[][] = [
        [
          [0, 0],
          [1, 3],
          [2, 1],
        ],
        [[1, 1]],
      ];
      const session = await model.begin(histories);
      // mixed prefix lengths; user 0 has two rows of length 1, user 1 one (an unused slot is padded)
      const rows: BeamRow[] = [
        { user: 1, prefix: [] },
        { user: 0, prefix: [layout.token(0, 2)] },
        { user: 0, prefix: [] },
        { user: 1, prefix: [layout.token(0, 1)] },
        { user: 0, prefix: [layout.token(0, 0)] },
      ];
      const logits = await session.next(rows);
      const h = layoutHistories(histories, layout, 2, history);
      rows.forEach((r, i) => {
        const T = h.length;
        const histTokens = [...h.tokens.subarray(r.user * T, (r.user + 1) * T)]
          .map(Number)
          .filter((_, j) => h.mask[r.user * T + j] === 1n);
        const want = reference(histTokens, [h.start[r.user] as number, ...r.prefix]);
        const got = logits[i] as Float32Array;
        expect(got.length).toBe(V);
        for (let v = 0; v < V; v++) expect(Math.abs((got[v] as number) - (want[v] as number))).toBeLessThan(1e-4);
      });
      session.dispose();
      await expect(session.next(rows)).rejects.toThrow(SemidError);
      model.dispose();
    });
  }

  it('finds the export inside a model directory (dir/onnx)', async () => {
    const { encode, step } = toyGraphs();
    const history: HistoryFormat = { bos: true, sepAfterItem: false, start: 'bos' };
    await writeOnnxDir(
      join(dir, 'model', 'onnx'),
      { vocabSize: V, levelSizes: [3, 4], maxHistory: 5, history },
      encode,
      step,
    );
    const model = await OnnxModel.load(join(dir, 'model'));
    expect(model.maxHistory).toBe(5);
    model.dispose();
  });

  it('reports a missing directory, a bad manifest and a row for an unknown user with codes', async () => {
    await expect(OnnxModel.load(join(dir, 'nope'))).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_MISSING' });
    const { encode, step } = toyGraphs();
    const bad = join(dir, 'bad');
    const history: HistoryFormat = { bos: true, sepAfterItem: false, start: 'bos' };
    await writeOnnxDir(bad, { vocabSize: V + 1, levelSizes: [3, 4], maxHistory: 5, history }, encode, step);
    await expect(OnnxModel.load(bad)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_CORRUPT' });
    const swapped = join(dir, 'swapped');
    await writeOnnxDir(swapped, { vocabSize: V, levelSizes: [3, 4], maxHistory: 5, history }, step, encode);
    await expect(OnnxModel.load(swapped)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_CORRUPT' });
    const garbage = join(dir, 'garbage');
    await writeOnnxDir(garbage, { vocabSize: V, levelSizes: [3, 4], maxHistory: 5, history }, encode, step);
    await writeFile(join(garbage, 'step.onnx'), 'not a model');
    await expect(OnnxModel.load(garbage)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_CORRUPT' });

    const good = join(dir, 'good');
    await writeOnnxDir(good, { vocabSize: V, levelSizes: [3, 4], maxHistory: 5, history }, encode, step);
    const model = await OnnxModel.load(good, { intraOpNumThreads: 1 });
    const session = await model.begin([[[0, 0]]]);
    await expect(session.next([{ user: 1, prefix: [] }])).rejects.toMatchObject({ code: 'SEMID_ERR_BAD_INPUT' });
    await expect(session.next([{ user: 0, prefix: [3, 6] }])).rejects.toMatchObject({ code: 'SEMID_ERR_BAD_INPUT' });
    await expect(session.next([{ user: 0, prefix: [V] }])).rejects.toMatchObject({ code: 'SEMID_ERR_BAD_INPUT' });
    await expect(model.begin([[[0, 0, 0]]])).rejects.toMatchObject({ code: 'SEMID_ERR_BAD_INPUT' });
    model.dispose();
  });
});
