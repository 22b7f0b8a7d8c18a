/**
 * A fake GenerativeModel for evaluation tests: it "predicts" one item per user, `predict(history
 * codes)`, by giving that item's token at each level a logit of `boost` on its path, 0 elsewhere.
 * So the predicted item ranks first, and the other items follow in ascending code order (ties are
 * broken towards lower tokens), which makes every rank hand-computable.
 */
import type { TokenLayout } from '../../src/core/codes.js';
import type { BeamRow, DecodingSession, GenerativeModel } from '../../src/core/model.js';
import type { Code } from '../../src/core/types.js';

export class FakeModel implements GenerativeModel {
  readonly vocabSize: number;
  sessionsOpen = 0;
  begun: Code[][][] = [];
  constructor(
    readonly layout: TokenLayout,
    /** The code the model favours for a history (may be a code of no item). */
    readonly predict: (history: readonly Code[]) => Code,
    readonly maxHistory = 50,
    readonly boost = 5,
  ) {
    this.vocabSize = layout.vocabSize;
  }
  async begin(histories: readonly (readonly Code[])[]): Promise<DecodingSession> {
    this.sessionsOpen++;
    this.begun.push(histories.map((h) => [...h]));
    const targets = histories.map((h) => this.layout.tokens(this.predict(h)));
    return {
      next: async (rows: readonly BeamRow[]) =>
        rows.map((r) => {
          const row = new Float32Array(this.vocabSize);
          const t = targets[r.user] as number[];
          const onPath = r.prefix.every((tok, i) => tok === t[i]);
          if (onPath) row[t[r.prefix.length] as number] = this.boost;
          return row;
        }),
      dispose: () => {
        this.sessionsOpen--;
      },
    };
  }
  dispose(): void {}
}
