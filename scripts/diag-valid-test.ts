/**
 * Diagnostic (not a report): trains a model and logs, after every epoch, NDCG@10 / Recall@10 on a
 * seeded sample of valid users AND of test users, to see whether the valid/test gap of a config grows
 * with training (memorisation) or is constant (the data). Early stopping still uses valid only; the
 * test column is a monitor and must never select a model whose figures are reported.
 *
 *   npx tsx scripts/diag-valid-test.ts --index runs/beauty/letter-quiet --data ../shared/data/beauty \
 *     --config runs/cfg/x.json --users 3000 --max-minutes 20 [--exclude-history]
 */
import { parseArgs } from 'node:util';
import { loadIndex } from '../indexer/artifact.js';
import { resolveModelConfig } from '../models/config.js';
import { trainModel } from '../models/train.js';
import { readConfigFile } from '../cli/command.js';
import { onnxReplica, sampleExamples } from '../src/api/models.js';
import { loadSplit } from '../src/core/data/load.js';
import { initTf } from '../src/core/tf.js';
import { evaluate } from '../src/eval/evaluate.js';

const { values } = parseArgs({
  options: {
    index: { type: 'string' },
    data: { type: 'string' },
    config: { type: 'string' },
    users: { type: 'string', default: '3000' },
    'max-minutes': { type: 'string', default: '20' },
    'exclude-history': { type: 'boolean', default: false },
    workers: { type: 'string' },
  },
});
if (!values.index || !values.data) throw new Error('--index and --data are required');
const config = resolveModelConfig(values.config ? (readConfigFile(values.config) as object) : {});
const [split, index] = await Promise.all([
  loadSplit(values.data, { maxHistory: config.maxHistory }),
  loadIndex(values.index, { encoder: false }),
]);
await initTf();
const n = Number(values.users);
const valid = sampleExamples(split.valid, n, config.seed);
const test = sampleExamples(split.test, n, config.seed);
const t0 = performance.now();
await trainModel({
  table: index.table,
  data: split,
  config,
  ...(values.workers !== undefined ? { workers: Number(values.workers) } : {}),
  maxSeconds: Number(values['max-minutes']) * 60,
  log: (l) => process.stderr.write(`${l}\n`),
  validate: async (model) => {
    const onnx = await onnxReplica(model);
    const row: Record<string, number> = {};
    try {
      for (const [name, ex] of [
        ['valid', valid],
        ['test', test],
      ] as const) {
        const r = await evaluate({
          model: onnx.model,
          table: index.table,
          examples: ex,
          ks: [10],
          beamWidth: config.beamWidth,
          maxHistory: config.maxHistory,
          batchSize: 128,
          excludeHistory: values['exclude-history'],
        });
        row[`${name}.ndcg@10`] = r.metrics['ndcg@10'] ?? 0;
        row[`${name}.recall@10`] = r.metrics['recall@10'] ?? 0;
      }
    } finally {
      await onnx.close();
    }
    process.stdout.write(`${JSON.stringify({ minutes: (performance.now() - t0) / 60000, ...row })}\n`);
    return row['valid.ndcg@10'] ?? 0;
  },
});
