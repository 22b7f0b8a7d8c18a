/**
 * Training graphs: per architecture, one ONNX graph whose inputs are the weights, a batch (feeds.ts
 * lays it out) and dropout masks, and whose outputs are the loss and every weight's gradient
 * (`grad.<name>`). The loss is models/transformer.ts `loss` term for term (label-smoothed next-token
 * cross-entropy normalised by the batch's target count; item-level: per-level softmaxes, the dense
 * item head and its repeat bias), so the gradients match TensorFlow.js's (tests/models/engine). With
 * `update` the graph also takes the AdamW moments and outputs the updated weights (update.ts).
 */
import { SemidError } from '../../src/core/errors.js';
import type { ModelConfig } from '../config.js';
import type { Dim, Value } from './autodiff.js';
import { type DropoutSite, ROWS, TrainNet } from './net.js';
import type { AdamWConstants } from './update.js';

/** A built training graph: the serialised model and what its feeds must hold. */
export interface TrainGraph {
  model: Uint8Array;
  /** Weight names, in paramSpecs order (inputs `<name>`, outputs `grad.<name>`). */
  params: string[];
  /** Dropout mask inputs ([rows, cols] each, rows resolved by feeds.ts). */
  dropoutSites: DropoutSite[];
}

/**
 * The decoder-only training graph. Inputs: `tokens`, `pos`, `lvl`, `labels` [rows] int64, `weights`
 * [rows] float32 (target weight / target count), `mask` [b, 1, t, t] float32 additive (causal + padding).
 */
export function decoderTrainGraph(
  config: ModelConfig,
  levelSizes: readonly number[],
  update?: AdamWConstants,
): TrainGraph {
  const net = new TrainNet('semid_decoder_train', config, levelSizes);
  const dg = net.dg;
  const ids = (name: string) => dg.input(name, 'INT64', [ROWS]);
  const [tokens, pos, lvl, labels] = [ids('tokens'), ids('pos'), ids('lvl'), ids('labels')];
  const weights = dg.input('weights', 'FLOAT', [ROWS]);
  const mask = dg.input('mask', 'FLOAT', ['b', 1, 't', 't']);
  const bthd = net.headShape(mask);
  let x = dg.sum([
    dg.gather(net.p('tok_emb'), tokens),
    dg.gather(net.p('pos_emb'), pos),
    dg.gather(net.p('lvl_emb'), lvl),
  ]);
  x = net.dropout(x);
  for (let i = 0; i < config.layers; i++) x = net.block(`blk${i}`, x, mask, bthd);
  const logits = net.head(net.ln(x, 'ln_f'), 0, net.layout.vocabSize);
  const loss = dg.crossEntropy(logits, labels, weights, config.labelSmoothing);
  const model = net.finish(loss, { semid_arch: 'decoder', semid_graph: 'train' }, update);
  return { model, params: [...net.params.keys()], dropoutSites: net.dropoutSites };
}

/**
 * The item-level training graph. Inputs (L levels, V vocabulary, M code buckets):
 *  - `slot_tokens` [rows, L] int64: each slot's code tokens, `slot_token_weight` [rows, L, 1] float32
 *    (1 for a token, 0 for no term: the start and padding slots have BOS only), `pos` [rows] int64,
 *    `mask` [b, 1, t, t]; with code buckets `bucket` [rows] int64 and `bucket_weight` [rows, 1];
 *  - `code_tokens` [L*rows, L] int64 and `code_token_weight` [L*rows, L, 1]: per (level l, slot) row,
 *    level-major, BOS then the target code's first l tokens; `code_level` [L*rows] int64;
 *  - `labels_<l>` [rows] int64: the target's level-l token minus the level's first token;
 *    `weights` [rows] float32 (1 / target count on slots with a target);
 *  - dense head: `catalogue` [N, L] int64 and `catalogue_bucket` [N] int64 (with buckets),
 *    `dense_labels` [rows] int64, `dense_weights` [rows] float32 (dense / target count);
 *    with the repeat bias `repeat_cells` [P, 2] int64 (slot, item) and `repeat_which` [P] int64.
 * @param catalogueSize N, the dense head's item count (0 when the head is off)
 */
export function itemTrainGraph(
  config: ModelConfig,
  levelSizes: readonly number[],
  catalogueSize = 0,
  update?: AdamWConstants,
): TrainGraph {
  if (config.unlikelihood > 0) {
    throw new SemidError(
      'SEMID_ERR_BAD_CONFIG',
      'the onnx training engine has no unlikelihood term: set unlikelihood 0 or train with engine "tfjs"',
    );
  }
  const net = new TrainNet('semid_item_train', config, levelSizes);
  const dg = net.dg;
  const layout = net.layout;
  const L = layout.levels;
  const M = config.codeBuckets;
  const N = catalogueSize;
  const dense = config.dense > 0;
  if (dense && !(N > 0))
    throw new SemidError('SEMID_ERR_INTERNAL', 'dense head on, but the training graph got no catalogue size');
  const LROWS = 'level_rows';
  const slotTokens = dg.input('slot_tokens', 'INT64', [ROWS, L]);
  const codeTokens = dg.input('code_tokens', 'INT64', [LROWS, L]);
  const cat = dense ? dg.input('catalogue', 'INT64', [N, L]) : undefined;
  // every read of a table in one gather, so its gradient is one scatter (tok_emb, code_emb can be large)
  const [slotTok, codeTok, catTok] = dg.gatherMany(
    net.p('tok_emb'),
    cat ? [slotTokens, codeTokens, cat] : [slotTokens, codeTokens],
  ) as [Value, Value, Value | undefined];
  const bucket = M > 0 ? dg.input('bucket', 'INT64', [ROWS]) : undefined;
  const catBucket = M > 0 && dense ? dg.input('catalogue_bucket', 'INT64', [N]) : undefined;
  const [slotCode, catCode] = bucket
    ? (dg.gatherMany(net.p('code_emb'), catBucket ? [bucket, catBucket] : [bucket]) as [Value, Value | undefined])
    : [undefined, undefined];
  /** Sum over the code's L terms, each kept by a 0/1 weight (0: no term, embedSum's -1). */
  const termSum = (rows: Value, weight: string, n: Dim) =>
    dg.reduceSum(dg.mul(rows, dg.input(weight, 'FLOAT', [n, L, 1])), [1]);

  const pos = dg.input('pos', 'INT64', [ROWS]);
  const mask = dg.input('mask', 'FLOAT', ['b', 1, 't', 't']);
  const bthd = net.headShape(mask);
  const terms: Value[] = [termSum(slotTok, 'slot_token_weight', ROWS), dg.gather(net.p('pos_emb'), pos)];
  if (slotCode) terms.push(dg.mul(slotCode, dg.input('bucket_weight', 'FLOAT', [ROWS, 1])));
  let x = net.dropout(dg.sum(terms));
  for (let i = 0; i < config.layers; i++) x = net.block(`blk${i}`, x, mask, bthd);
  const state = x;

  // the code head, teacher-forced on each slot's target, level-major rows (l, slot)
  const codeLevel = dg.input('code_level', 'INT64', [LROWS]);
  const tiled = dg.concatRows(
    Array.from({ length: L }, () => state),
    LROWS,
  );
  const e = dg.add(termSum(codeTok, 'code_token_weight', LROWS), dg.gather(net.p('lvl_emb'), codeLevel));
  const z = net.ln(net.ffn('code', dg.add(tiled, e)), 'ln_f');
  const weights = dg.input('weights', 'FLOAT', [ROWS]);
  const perLevel = L === 1 ? [z] : dg.splitRows(z, L, ROWS);
  const losses: Value[] = perLevel.map((zl, l) => {
    const lo = layout.token(l, 0);
    const logits = net.head(zl, lo, lo + (layout.levelSizes[l] as number));
    return dg.crossEntropy(logits, dg.input(`labels_${l}`, 'INT64', [ROWS]), weights, config.labelSmoothing);
  });

  if (dense) {
    const items = dg.sum(
      catCode ? [dg.reduceSum(catTok as Value, [1]), catCode] : [dg.reduceSum(catTok as Value, [1])],
    ); // [N, d]
    let logits = dg.linearT(net.ln(state, 'dense.ln'), items); // [rows, N]
    if (config.denseRepeat) {
      const cells = dg.input('repeat_cells', 'INT64', ['cells', 2]);
      const which = dg.input('repeat_which', 'INT64', ['cells']);
      logits = dg.addAt(logits, cells, dg.gather(net.p('dense.repeat'), which));
    }
    const labels = dg.input('dense_labels', 'INT64', [ROWS]);
    losses.push(dg.crossEntropy(logits, labels, dg.input('dense_weights', 'FLOAT', [ROWS]), 0));
  }
  const model = net.finish(dg.sum(losses), { semid_arch: 'item', semid_graph: 'train' }, update);
  return { model, params: [...net.params.keys()], dropoutSites: net.dropoutSites };
}
