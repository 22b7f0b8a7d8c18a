import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../cli/command.js';
import { batchingFlags, serveCommand, serverFlags } from '../../cli/serve.js';
import { SemidError } from '../../src/core/errors.js';

const flags = (argv: string[]) => {
  const args = parseCommandArgs(serveCommand, ['--bundle', 'x', ...argv]);
  if (args === 'help') throw new Error('unexpected help');
  return batchingFlags(args);
};

describe('semid serve micro-batching flags', () => {
  it('defaults, explicit settings and --no-batching', () => {
    expect(flags([])).toEqual({ maxBatch: 32, maxInFlight: 1, maxWaitMs: 1 });
    expect(flags(['--max-batch', '8', '--max-in-flight', '2', '--max-wait-ms', '2.5'])).toEqual({
      maxBatch: 8,
      maxInFlight: 2,
      maxWaitMs: 2.5,
    });
    expect(flags(['--no-batching'])).toBe(false);
  });

  it.each([
    [['--max-batch', '0'], /maxBatch/],
    [['--max-wait-ms', 'soon'], /max-wait-ms/],
    [['--max-wait-ms', '5000'], /maxWaitMs/],
    [['--max-in-flight', '1.5'], /max-in-flight/],
  ])('rejects %j with a message naming the setting', (argv, re) => {
    let err: unknown;
    try {
      flags(argv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SemidError);
    expect((err as SemidError).code).toBe('SEMID_ERR_BAD_INPUT');
    expect((err as Error).message).toMatch(re);
  });
});

describe('semid serve limit and logging flags', () => {
  const limits = (argv: string[]) => {
    const args = parseCommandArgs(serveCommand, ['--bundle', 'x', ...argv]);
    if (args === 'help') throw new Error('unexpected help');
    return serverFlags(args);
  };
  it('defaults and explicit settings', () => {
    expect(limits([])).toEqual({
      maxRequestCost: 8192,
      requestTimeoutMs: 30_000,
      closeGraceMs: 10_000,
      logRequests: false,
      logger: { level: 'info' },
    });
    expect(
      limits([
        '--max-request-cost',
        '1000',
        '--rate-limit',
        '600',
        '--request-timeout-ms',
        '5000',
        '--grace-ms',
        '0',
        '--log-level',
        'silent',
        '--log-requests',
      ]),
    ).toEqual({
      maxRequestCost: 1000,
      rateLimit: { max: 600, timeWindowMs: 60_000 },
      requestTimeoutMs: 5000,
      closeGraceMs: 0,
      logRequests: true,
      logger: false,
    });
  });
  it.each([
    [['--max-request-cost', '0'], /--max-request-cost/],
    [['--rate-limit', '-1'], /--rate-limit/],
    [['--log-level', 'loud'], /--log-level/],
    [['--request-timeout-ms', '10'], /--request-timeout-ms/],
  ])('rejects %j', (argv, re) => {
    expect(() => limits(argv)).toThrow(re);
  });
});
