/**
 * The comparison harness behind `semid compare`: for each scheme and seed, build the index, train
 * the same model on it, evaluate on the test split, and collect one SchemeRun. The stages are
 * injected, so the harness is tested with fakes and the CLI wires the real indexer, trainer and
 * evaluator. A failing scheme is recorded in `failures` (never silently left out) and the others go on.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../core/artifact.js';
import { formatSeconds } from '../core/progress.js';
import type { SplitData } from '../core/types.js';
import { renderHtml } from './html.js';
import { type CompareReport, renderMarkdown, type SchemeRun, summarise } from './report.js';

/** What one stage returns: its numbers for the report. */
export interface StageResult {
  /** Metrics (for eval), index diagnostics (for index) or training facts (for train). */
  values: Record<string, number>;
  /** Per-run series for the HTML report (training curves, items per first-level code...). */
  series?: Record<string, (number | null)[]>;
}

/** The three stages, with the artifact directories they hand to each other. */
export interface CompareStages {
  buildIndex(args: { scheme: string; seed: number; split: SplitData; out: string }): Promise<StageResult>;
  train(args: { scheme: string; seed: number; split: SplitData; indexDir: string; out: string }): Promise<StageResult>;
  evaluate(args: {
    scheme: string;
    seed: number;
    split: SplitData;
    modelDir: string;
    indexDir: string;
  }): Promise<StageResult>;
}

export interface CompareOptions {
  split: SplitData;
  schemes: readonly string[];
  seeds: readonly number[];
  /** Report directory (report.json, report.md and report.html are each replaced atomically); artifacts go to `work/<scheme>-s<seed>/`. */
  out: string;
  /** Where index and model artifacts are kept. */
  work: string;
  stages: CompareStages;
  /** Recorded in the report. */
  config: Record<string, unknown>;
  log?: (line: string) => void;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

/** Runs every (scheme, seed), writes report.json, report.md and report.html into `out`, and returns the report. */
export async function runCompare(opts: CompareOptions): Promise<CompareReport> {
  const log = opts.log ?? (() => {});
  const runs: SchemeRun[] = [];
  const failures: CompareReport['failures'] = [];
  const total = opts.schemes.length * opts.seeds.length * 3;
  let finished = 0;
  const t0 = performance.now();
  // "[compare] stage 4/9 rqvae seed 1: training (12 min 03 s elapsed, ETA 20 min 10 s)"; the ETA is the
  // mean time per stage so far times the stages left (rough: training dominates).
  const stage = (scheme: string, seed: number, what: string) => {
    const elapsed = (performance.now() - t0) / 1000;
    const eta = finished > 0 ? `, ETA ${formatSeconds((elapsed / finished) * (total - finished))}` : '';
    log(
      `[compare] stage ${finished + 1}/${total} ${scheme} seed ${seed}: ${what} (${formatSeconds(elapsed)} elapsed${eta})`,
    );
  };
  for (const scheme of opts.schemes) {
    for (const seed of opts.seeds) {
      const base = join(opts.work, `${scheme}-s${seed}`);
      const indexDir = join(base, 'index');
      const modelDir = join(base, 'model');
      const before = finished;
      try {
        stage(scheme, seed, 'building the index');
        const [idx, tIndex] = await timed(() =>
          opts.stages.buildIndex({ scheme, seed, split: opts.split, out: indexDir }),
        );
        finished++;
        stage(scheme, seed, `training (index took ${tIndex.toFixed(1)} s)`);
        const [tr, tTrain] = await timed(() =>
          opts.stages.train({ scheme, seed, split: opts.split, indexDir, out: modelDir }),
        );
        finished++;
        stage(scheme, seed, `evaluating (training took ${tTrain.toFixed(1)} s)`);
        const [ev, tEval] = await timed(() =>
          opts.stages.evaluate({ scheme, seed, split: opts.split, modelDir, indexDir }),
        );
        finished++;
        runs.push({
          scheme,
          seed,
          metrics: ev.values,
          index: idx.values,
          seconds: { index: tIndex, train: tTrain, eval: tEval },
          extra: tr.values,
          ...(idx.series || tr.series ? { series: { ...idx.series, ...tr.series } } : {}),
        });
        const r10 = ev.values['recall@10'];
        log(`[compare] ${scheme} seed ${seed}: done${r10 === undefined ? '' : `, test recall@10 ${r10.toFixed(4)}`}`);
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        log(`[compare] ${scheme} seed ${seed}: FAILED: ${error}`);
        failures.push({ scheme, seed, error });
        finished = before + 3;
      }
    }
  }
  const report: CompareReport = {
    dataset: opts.split.name,
    createdAt: new Date().toISOString(),
    config: opts.config,
    schemes: summarise(runs),
    runs,
    failures,
  };
  // Each report file is replaced atomically; the directory itself is not, since `work` (the
  // artifacts) may live inside it.
  await writeFileAtomic(join(opts.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFileAtomic(join(opts.out, 'report.md'), renderMarkdown(report));
  await writeFileAtomic(join(opts.out, 'report.html'), await renderHtml(report));
  return report;
}
