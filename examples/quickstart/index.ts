/**
 * semid as a library, end to end on synthetic data (about a minute on two idle cores):
 * load a dataset, build and save an index, train a small model with progress and an AbortSignal,
 * save it as a bundle, open the bundle as a Recommender, evaluate it, and compare two schemes.
 *
 *   npm install && npm run build && npm start [work-dir]
 */
import {
  buildIndex,
  compare,
  evaluate,
  loadDataset,
  loadIndex,
  Recommender,
  SemidError,
  saveIndex,
  train,
} from 'semid';

const work = process.argv[2] ?? 'runs/quickstart';
const tiny = { dModel: 16, layers: 1, heads: 2, ffn: 32, epochs: 1 };

// 1. A dataset: a directory in any supported format, or a synthetic spec.
const data = await loadDataset('synthetic:items=60,users=90,minLength=4,maxLength=8');
console.log(`dataset ${data.name}: ${data.items.length} items, ${data.users.length} users`);

// 2. An index: every scheme takes its own typed config (here rqkmeans' level count and size).
const built = await buildIndex({ scheme: 'rqkmeans', data, config: { levels: 2, size: 8 }, seed: 1 });
const index = await loadIndex((await saveIndex(built, `${work}/index`)).dir);
for (const w of index.warnings) console.log(`index warning: ${w}`);
const firstItem = data.items[0]?.id as string;
console.log(`index ${index.scheme}: levels [${index.levelSizes}], ${firstItem} -> [${index.codeOf(firstItem)}]`);

// 3. Training, with progress callbacks and an AbortSignal (aborting rejects with the signal's reason).
const controller = new AbortController();
const model = await train({
  index,
  data,
  preset: 'fast',
  config: tiny,
  seed: 7,
  workers: 0,
  validUsers: 30,
  signal: controller.signal,
  onProgress: (p) => {
    if (p.kind === 'validation') console.log(`epoch ${p.epoch + 1}: valid NDCG@10 ${p.ndcg10.toFixed(4)}`);
  },
});
await model.save(`${work}/bundle`); // a self-contained bundle: its index is copied inside
model.dispose();

// 4. A Recommender over the bundle (movable: it carries its index).
const rec = await Recommender.open(`${work}/bundle`, { persist: false });
try {
  const history = data.test[0]?.history ?? [firstItem];
  const top = await rec.recommend(history, { k: 5 });
  console.log('top 5:', top.map((r) => `${r.item} (${r.score.toFixed(2)})`).join(', '));
  const batch = await rec.recommendBatch([history, [firstItem]], { k: 3 });
  console.log(`batch: ${batch.map((list) => list.length).join(', ')} items`);
  const scored = await rec.score(history, [top[0]?.item ?? firstItem, firstItem]);
  console.log('scores:', scored.map((s) => `${s.item} ${s.score.toFixed(2)}`).join(', '));
  console.log('similar:', rec.similar(firstItem, 3).map((s) => s.item).join(', '));
  const added = await rec.addItem({ id: 'new-item', title: 'a brand new item', code: [0] });
  console.log(`added ${added.item} at [${added.code}] (${added.assignedBy})`);
  await rec.removeItem('new-item');
  try {
    await rec.recommend(['no-such-item']);
  } catch (e) {
    if (e instanceof SemidError) console.log(`expected error: ${e.code}`);
    else throw e;
  }
} finally {
  await rec.close();
}

// 5. Evaluation under the standard protocol (the bundle records its dataset).
const result = await evaluate({ bundle: `${work}/bundle`, ks: [10] });
console.log(`test recall@10 ${result.metrics['recall@10']?.toFixed(4)} over ${result.examples} users`);

// 6. A comparison: same model on each scheme, one report (report.json / report.md).
const report = await compare({
  data: 'synthetic:items=60,users=90,minLength=4,maxLength=8',
  schemes: ['random', 'sequential'],
  out: `${work}/compare`,
  config: { preset: 'fast', model: tiny, validUsers: 30, workers: 0 },
});
for (const s of report.schemes) console.log(`compare ${s.scheme}: recall@10 ${s.metrics['recall@10']?.mean.toFixed(4)}`);
console.log('quickstart done');
