/** Starts bench/server-child.ts in its own process and returns its URL and a stop function. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A running child server. */
export interface ChildServer {
  url: string;
  /** What the child reported about its bundle. */
  info: Record<string, unknown>;
  proc: ChildProcess;
  /** Whether the process is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** Spawns the server child with `args` (see bench/server-child.ts) and waits until it listens. */
export function spawnServer(args: string[], timeoutMs = 300_000): Promise<ChildServer> {
  const script = fileURLToPath(new URL('./server-child.ts', import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let exited = false;
  proc.on('exit', () => {
    exited = true;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error('server child did not start in time'));
    }, timeoutMs);
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const info = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      resolve({
        url: info.url as string,
        info,
        proc,
        alive: () => !exited,
        stop: () =>
          new Promise<void>((r) => {
            if (exited) return r();
            proc.once('exit', () => r());
            proc.kill('SIGTERM');
          }),
      });
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server child exited with code ${code} before listening`));
    });
  });
}

/** Up to `want` item ids of a running server, read through /v1/codes under each first-level value. */
export async function itemIds(url: string, levelSizes: number[], want: number): Promise<string[]> {
  const ids: string[] = [];
  for (let v = 0; v < (levelSizes[0] ?? 0) && ids.length < want; v++) {
    const r = (await (await fetch(`${url}/v1/codes/${v}?limit=100`)).json()) as { items: { item: string }[] };
    ids.push(...r.items.map((x) => x.item));
  }
  return ids.slice(0, want);
}
