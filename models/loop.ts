/**
 * The one training loop of the sequence models (the code transformer's architectures and SASRec):
 * epochs of batches, one optimiser step per batch, validation every `evalEvery` epochs with early
 * stopping (the best weights kept), and the stopping rules (epochs, patience, a step cap, a time
 * cap). What differs between models comes in as callbacks: how an epoch's batches are built, how a
 * step computes and applies gradients, and what happens after an epoch (checkpoints, schedules).
 */

/** One epoch's record. */
export interface EpochRecord {
  epoch: number;
  steps: number;
  loss: number;
  tokensPerSecond: number;
  seconds: number;
  valid?: number;
}

/** Why training stopped. */
export type StopReason = 'epochs' | 'early-stop' | 'time' | 'steps';

/** Early stopping on a validation score (higher is better): the best score, its epoch and weights. */
export class EarlyStopping {
  /** The best validation score so far. */
  bestValid: number | undefined;
  /** The epoch of the best score (-1: none yet). */
  bestEpoch = -1;
  /** Validations since the best. */
  sinceBest = 0;
  /** The weights at the best score. */
  best: Map<string, Float32Array> | undefined;

  constructor(
    readonly patience: number,
    from?: Partial<Pick<EarlyStopping, 'bestValid' | 'bestEpoch' | 'sinceBest' | 'best'>>,
  ) {
    if (from) Object.assign(this, from);
  }

  /**
   * Records a validation score; on a new best, takes a snapshot of the weights.
   * @returns whether the score is a new best
   */
  observe(epoch: number, valid: number, snapshot: () => Map<string, Float32Array>): boolean {
    if (this.bestValid === undefined || valid > this.bestValid) {
      this.bestValid = valid;
      this.bestEpoch = epoch;
      this.sinceBest = 0;
      this.best = snapshot();
      return true;
    }
    this.sinceBest++;
    return false;
  }

  /** Whether more than `patience` validations passed without improvement. */
  get exhausted(): boolean {
    return this.sinceBest > this.patience;
  }
}

/** Progress after every step. */
export interface StepInfo {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  tokensPerSecond: number;
}

/** Options of `runEpochs`; B is the batch type. */
export interface LoopOptions<B> {
  /** Epochs in total (the loop runs epochs startEpoch..epochs-1). */
  epochs: number;
  /** First epoch (a resumed run continues). Default 0. */
  startEpoch?: number;
  /** Optimiser steps already taken (a resumed run continues). Default 0. */
  startStep?: number;
  /** Records of the epochs already run (a resumed run continues them). */
  records?: EpochRecord[];
  /** One epoch's batches and its target count (for tokens per second). */
  batches(epoch: number): { batches: B[]; tokens: number };
  /** One optimiser step on a batch; `step` counts the steps taken before it. @returns the batch loss */
  step(batch: B, step: number): Promise<number>;
  /** Targets of a batch (for the running tokens per second). */
  targets(batch: B): number;
  /** Validation score of the current weights (higher is better); without it, no early stopping. */
  validate?: () => Promise<number>;
  /** Validate every this many epochs. */
  evalEvery: number;
  /** The early-stopping state (fresh, or a resumed run's). */
  stopper: EarlyStopping;
  /** Copies of the current weights (the best are kept). */
  snapshot(): Map<string, Float32Array>;
  /** Stop after this many steps in total. */
  maxSteps?: number;
  /** Stop once `elapsed()` reaches this many seconds. */
  maxSeconds?: number;
  /** Where the time cap is checked: after every step, or after every epoch (its validation done). */
  timeCheck: 'step' | 'epoch';
  /** Seconds of training so far (a resumed run's included). */
  elapsed(): number;
  onStep?: (info: StepInfo) => void;
  /** After each epoch's record and validation (checkpoints, schedules); `stopped` is the reason so far. */
  afterEpoch?: (rec: EpochRecord, stopped: StopReason) => Promise<void>;
  /** The log line of an epoch. */
  log?: (rec: EpochRecord, stopper: EarlyStopping) => void;
}

/** Runs the training epochs. @returns every epoch's record, the steps taken and why it stopped */
export async function runEpochs<B>(
  o: LoopOptions<B>,
): Promise<{ epochs: EpochRecord[]; steps: number; stopped: StopReason }> {
  const records = o.records ?? [];
  let step = o.startStep ?? 0;
  let stopped: StopReason = 'epochs';
  for (let epoch = o.startEpoch ?? 0; epoch < o.epochs; epoch++) {
    const { batches, tokens } = o.batches(epoch);
    const te = performance.now();
    let lossSum = 0;
    let n = 0;
    let seen = 0;
    for (const batch of batches) {
      const loss = await o.step(batch, step);
      step++;
      n++;
      lossSum += loss;
      seen += o.targets(batch);
      const tokensPerSecond = seen / ((performance.now() - te) / 1000);
      o.onStep?.({ epoch, step, stepsPerEpoch: batches.length, loss, tokensPerSecond });
      if (o.maxSteps !== undefined && step >= o.maxSteps) {
        stopped = 'steps';
        break;
      }
      if (o.timeCheck === 'step' && o.maxSeconds !== undefined && o.elapsed() >= o.maxSeconds) {
        stopped = 'time';
        break;
      }
    }
    const seconds = (performance.now() - te) / 1000;
    const rec: EpochRecord = {
      epoch,
      steps: n,
      loss: lossSum / Math.max(1, n),
      tokensPerSecond: tokens / seconds,
      seconds,
    };
    if (o.validate && (epoch + 1) % o.evalEvery === 0) {
      rec.valid = await o.validate();
      o.stopper.observe(epoch, rec.valid, o.snapshot);
    }
    records.push(rec);
    o.log?.(rec, o.stopper);
    await o.afterEpoch?.(rec, stopped);
    if (stopped !== 'epochs') break;
    if (o.validate && o.stopper.exhausted) {
      stopped = 'early-stop';
      break;
    }
    if (o.timeCheck === 'epoch' && o.maxSeconds !== undefined && o.elapsed() > o.maxSeconds) {
      stopped = 'time';
      break;
    }
  }
  return { epochs: records, steps: step, stopped };
}
