/**
 * Item text embeddings from a user-supplied ONNX text encoder (e.g. an exported sentence-transformers
 * BERT), run with onnxruntime-node: WordPiece tokenisation, batches padded with [PAD], the model's
 * token states `[batch, T, d]` mean-pooled over the attention mask, then L2-normalised.
 * The model must take `input_ids` (int64 [batch, T]) and may take `attention_mask` and
 * `token_type_ids`; its first output (or `outputName`) must be `[batch, T, d]` float32.
 */
import * as ort from 'onnxruntime-node';
import { SemidError } from '../../src/core/errors.js';
import type { Item } from '../../src/core/types.js';
import { l2NormalizeRows } from './text.js';
import { itemText } from './tokenize.js';
import { WordPieceTokenizer } from './wordpiece.js';

/** Options of the ONNX encoder. */
export interface OnnxEncoderOptions {
  /** Path of model.onnx. */
  model: string;
  /** Path of the WordPiece vocab.txt. */
  vocab: string;
  /** Tokens per text including [CLS]/[SEP]. Default 128. */
  maxLength?: number;
  /** Texts per forward pass. Default 32. */
  batchSize?: number;
  /** Output to pool; default the model's first output. */
  outputName?: string;
  /** Lower-case and strip accents (uncased BERT vocabularies). Default true. */
  lowerCase?: boolean;
}

/** A loaded ONNX text encoder. Call `close()` when done. */
export class OnnxTextEncoder {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly tokenizer: WordPieceTokenizer,
    private readonly opts: Required<Omit<OnnxEncoderOptions, 'outputName'>> & { outputName: string },
  ) {}

  /** Loads the model and vocabulary. @throws SEMID_ERR_NOT_FOUND / SEMID_ERR_BAD_INPUT */
  static async load(o: OnnxEncoderOptions): Promise<OnnxTextEncoder> {
    const tokenizer = await WordPieceTokenizer.fromFile(o.vocab, o.lowerCase ?? true);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(o.model);
    } catch (e) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `cannot load ONNX model ${o.model}: ${(e as Error).message}`);
    }
    if (!session.inputNames.includes('input_ids')) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `ONNX model ${o.model} has inputs [${session.inputNames.join(', ')}]; a text encoder needs "input_ids" (and optionally "attention_mask", "token_type_ids")`,
      );
    }
    const outputName = o.outputName ?? (session.outputNames[0] as string);
    if (!session.outputNames.includes(outputName)) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `ONNX model ${o.model} has no output "${outputName}" (outputs: ${session.outputNames.join(', ')})`,
      );
    }
    return new OnnxTextEncoder(session, tokenizer, {
      model: o.model,
      vocab: o.vocab,
      maxLength: o.maxLength ?? 128,
      batchSize: o.batchSize ?? 32,
      lowerCase: o.lowerCase ?? true,
      outputName,
    });
  }

  /** @returns [texts, d] float32, mean-pooled over real tokens and L2-normalised; and d. */
  async embedTexts(texts: readonly string[]): Promise<{ data: Float32Array; dim: number }> {
    const chunks: Float32Array[] = [];
    let dim = 0;
    for (let b = 0; b < texts.length; b += this.opts.batchSize) {
      const batch = texts
        .slice(b, b + this.opts.batchSize)
        .map((t) => this.tokenizer.encode(t, this.opts.maxLength).ids);
      const B = batch.length;
      const T = Math.max(...batch.map((x) => x.length));
      const ids = new BigInt64Array(B * T).fill(BigInt(this.tokenizer.padId));
      const mask = new BigInt64Array(B * T);
      batch.forEach((x, i) => {
        x.forEach((id, t) => {
          ids[i * T + t] = BigInt(id);
          mask[i * T + t] = 1n;
        });
      });
      const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [B, T]) };
      if (this.session.inputNames.includes('attention_mask'))
        feeds.attention_mask = new ort.Tensor('int64', mask, [B, T]);
      if (this.session.inputNames.includes('token_type_ids')) {
        feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]);
      }
      const out = (await this.session.run(feeds))[this.opts.outputName] as ort.Tensor;
      const dims = out.dims;
      if (dims.length !== 3 || dims[0] !== B || dims[1] !== T || out.type !== 'float32') {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `ONNX output "${this.opts.outputName}" is ${out.type} [${dims.join(', ')}]; expected float32 [batch=${B}, tokens=${T}, d] token states`,
        );
      }
      dim = dims[2] as number;
      const h = out.data as Float32Array;
      const pooled = new Float32Array(B * dim);
      batch.forEach((x, i) => {
        for (let t = 0; t < x.length; t++) {
          const o = (i * T + t) * dim;
          for (let j = 0; j < dim; j++) pooled[i * dim + j] = (pooled[i * dim + j] as number) + (h[o + j] as number);
        }
        for (let j = 0; j < dim; j++) pooled[i * dim + j] = (pooled[i * dim + j] as number) / x.length;
      });
      chunks.push(pooled);
    }
    const data = new Float32Array(texts.length * dim);
    let o = 0;
    for (const c of chunks) {
      data.set(c, o);
      o += c.length;
    }
    return { data: l2NormalizeRows(data, dim), dim };
  }

  /** @returns [items, d] float32 embeddings of the items' text (title, categories, brand, description). */
  embed(items: readonly Item[]): Promise<{ data: Float32Array; dim: number }> {
    return this.embedTexts(items.map(itemText));
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
