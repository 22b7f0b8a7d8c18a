/**
 * The listening server: builds the app, listens, reloads bundles on SIGHUP, and shuts down on
 * SIGTERM / SIGINT: stop accepting, let in-flight requests finish for at most `closeGraceMs`, then
 * close every connection still open and dispose the bundles.
 */
import type { FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from './app.js';

/** Options of startServer. */
export interface ServerOptions extends AppOptions {
  /** Port (0 picks a free one). Default 8080. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Install SIGHUP / SIGTERM / SIGINT handlers (default true). */
  signals?: boolean;
  /** Where to report reloads and shutdown (default stderr). */
  log?: (line: string) => void;
  /** How long a shutdown waits for in-flight requests before closing their connections (ms, default 10 s). */
  closeGraceMs?: number;
}

/** A running server. */
export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** Stop: no new connections, in-flight requests get up to the grace period, bundles disposed. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the server has closed (by close() or a signal). */
  closed: Promise<void>;
}

/** Default grace period of a shutdown (ms). */
export const DEFAULT_CLOSE_GRACE_MS = 10_000;

/** Starts listening. The registry is closed with the server. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const app = await buildApp(opts);
  const url = await app.listen({ port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1' });
  const grace = opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  let closing: Promise<void> | undefined;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const handlers: [NodeJS.Signals, () => void][] = [];

  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const [sig, h] of handlers) process.off(sig, h);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const overdue = new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), grace);
        timer.unref();
      });
      const done = app.close().then(() => false);
      if (await Promise.race([done, overdue])) {
        log(`semid serve: grace period of ${grace} ms over, closing the remaining connections`);
        app.server.closeAllConnections();
        await done;
      }
      clearTimeout(timer);
      // Leases still held by requests whose connection was cut end when their decoding does.
      await opts.registry.close();
      resolveClosed();
    })();
    return closing;
  };

  if (opts.signals ?? true) {
    const onHup = () => {
      log('semid serve: SIGHUP, reloading bundles');
      opts.registry.reload().then(
        (r) => log(`semid serve: reloaded ${r.reloaded.join(', ')}`),
        (e: Error) => log(`semid serve: reload failed, still serving the previous bundles: ${e.message}`),
      );
    };
    const onStop = (sig: string) => () => {
      log(`semid serve: ${sig}, finishing in-flight requests (at most ${grace} ms) and shutting down`);
      close().then(
        () => log('semid serve: stopped'),
        (e: Error) => log(`semid serve: shutdown error: ${e.message}`),
      );
    };
    handlers.push(['SIGHUP', onHup], ['SIGTERM', onStop('SIGTERM')], ['SIGINT', onStop('SIGINT')]);
    for (const [sig, h] of handlers) process.on(sig, h);
  }
  return { app, url, close, closed };
}
