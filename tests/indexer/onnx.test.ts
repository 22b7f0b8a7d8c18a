import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxTextEncoder } from '../../indexer/features/onnx.js';
import { WordPieceTokenizer } from '../../indexer/features/wordpiece.js';
import { gatherEncoder } from '../helpers/onnx.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'nail', 'polish', '##es', 'red', 'gel', 'cafe', '!'];
const D = 3;
/** Embedding row t = [t, 1, (t % 3) - 1]; the [PAD] row [0, 1, -1] is non-zero, so pooling over pads would change the result. */
const E = Float32Array.from(VOCAB.flatMap((_, t) => [t, 1, (t % 3) - 1]));

const dir = mkdtempSync(join(tmpdir(), 'semid-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  writeFileSync(join(dir, 'vocab.txt'), `${VOCAB.join('\n')}\n`);
  // token states = Gather(E, input_ids) -> [batch, T, D]; padded positions get the non-zero E[PAD] state.
  const model = gatherEncoder(E, VOCAB.length, D);
  writeFileSync(join(dir, 'model.onnx'), model);
});

describe('WordPiece tokenizer', () => {
  it('splits on punctuation, strips accents and matches longest pieces first', () => {
    const t = new WordPieceTokenizer(VOCAB);
    expect(t.basic('Polishes, RED! Café')).toEqual(['polishes', ',', 'red', '!', 'cafe']);
    // [CLS] polish ##es [UNK](,) red ! cafe [SEP]
    expect(t.encode('Polishes, RED! Café').ids).toEqual([2, 5, 6, 1, 7, 10, 9, 3]);
    expect(t.encode('nailx').ids).toEqual([2, 1, 3]);
    expect(t.encode('nail polish red gel', 4).ids).toEqual([2, 4, 5, 3]);
  });
  it('needs the special tokens', () => {
    expect(() => new WordPieceTokenizer(['a', 'b'])).toThrow(/\[CLS\]/);
  });
});

describe('ONNX text encoder', () => {
  it('mean-pools token states over the real tokens of each text and L2-normalises', async () => {
    const enc = await OnnxTextEncoder.load({
      model: join(dir, 'model.onnx'),
      vocab: join(dir, 'vocab.txt'),
      batchSize: 2,
    });
    const texts = ['red nail', 'gel', 'polishes red nail gel'];
    const { data, dim } = await enc.embedTexts(texts);
    await enc.close();
    expect(dim).toBe(D);
    const t = new WordPieceTokenizer(VOCAB);
    texts.forEach((text, i) => {
      const ids = t.encode(text).ids;
      const mean = [0, 1, 2].map((j) => ids.reduce((s, id) => s + E[id * D + j]!, 0) / ids.length);
      const norm = Math.hypot(...mean);
      for (let j = 0; j < D; j++) expect(data[i * D + j]).toBeCloseTo(mean[j]! / norm, 5);
    });
  });
  it('reports a model without input_ids and a missing model', async () => {
    const bad = gatherEncoder(E, VOCAB.length, D, 'tokens', 'y');
    writeFileSync(join(dir, 'bad.onnx'), bad);
    await expect(OnnxTextEncoder.load({ model: join(dir, 'bad.onnx'), vocab: join(dir, 'vocab.txt') })).rejects.toThrow(
      /needs "input_ids"/,
    );
    await expect(
      OnnxTextEncoder.load({ model: join(dir, 'none.onnx'), vocab: join(dir, 'vocab.txt') }),
    ).rejects.toMatchObject({
      code: 'SEMID_ERR_BAD_INPUT',
    });
  });
});
