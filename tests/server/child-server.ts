/**
 * A server over the fake bundle in its own process, for tests that signal or kill it:
 *   node --import tsx tests/server/child-server.ts <bundle dir> [grace ms]
 * Prints one JSON line {"url"} once listening. The API key is helpers.KEY.
 */
import { BundleRegistry } from '../../server/registry.js';
import { startServer } from '../../server/server.js';
import { fakeLoader, KEY } from './helpers.js';

const [dir, grace] = process.argv.slice(2);
const { load } = fakeLoader({ delayMs: Number(process.env.SEMID_TEST_DELAY_MS ?? 0) });
const registry = await BundleRegistry.open([{ name: 'main', dir: dir as string }], load);
const srv = await startServer({
  registry,
  port: 0,
  apiKey: KEY,
  log: () => {},
  logger: false,
  ...(grace ? { closeGraceMs: Number(grace) } : {}),
  requestTimeoutMs: Number(process.env.SEMID_TEST_REQUEST_TIMEOUT_MS ?? 10_000),
});
process.stdout.write(`${JSON.stringify({ url: srv.url })}\n`);
await srv.closed;
process.exit(0);
