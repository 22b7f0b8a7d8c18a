/** Tiny ONNX models for tests, built with the project's own graph builder (models/onnx/proto.ts). */
import { GraphBuilder } from '../../models/onnx/proto.js';

/**
 * An embedding-lookup "text encoder": int64 `[batch, seq]` ids -> `[batch, seq, d]` rows of `table`.
 * @param table `[vocab, d]` float32, row-major
 */
export function gatherEncoder(
  table: Float32Array,
  vocab: number,
  d: number,
  input = 'input_ids',
  output = 'last_hidden_state',
): Uint8Array {
  const g = new GraphBuilder('gather-encoder');
  const ids = g.input(input, 'INT64', ['batch', 'seq']);
  const e = g.weight('E', table, [vocab, d]);
  const h = g.node('Gather', [e, ids], { axis: { kind: 'i', v: 0 } });
  g.output(h, output, 'FLOAT', ['batch', 'seq', d]);
  return g.toModel();
}
