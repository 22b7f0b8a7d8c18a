/**
 * BundleRegistry: the named bundles a server serves, swapped atomically on reload. Each request
 * leases the bundle it uses (a reference count); a reload loads every new bundle first, then swaps
 * the pointers in one synchronous step, and disposes an old bundle only once its last lease ends,
 * so no in-flight request fails. Reloads and item changes run one at a time.
 */
import { SemidError } from '../src/core/errors.js';
import { type BatchOptions, resolveBatchOptions } from './batcher.js';
import { Bundle } from './bundle.js';
import type { LoadBundle } from './types.js';

/** Where a named bundle is loaded from. */
export interface BundleSource {
  name: string;
  dir: string;
}

/** A bundle in use by one request; `release()` exactly once when done. */
export interface Lease {
  readonly bundle: Bundle;
  release(): void;
}

interface Entry {
  bundle: Bundle;
  refs: number;
  retired: boolean;
  disposed: boolean;
}

/** Bundle names: letters, digits, dot, dash, underscore. */
export const BUNDLE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Named bundles with leases and atomic reload. */
export class BundleRegistry {
  /** The bundle used when a request names none: the first source. */
  readonly defaultName: string;
  private entries = new Map<string, Entry>();
  private readonly retiredEntries = new Set<Entry>();
  private lock: Promise<unknown> = Promise.resolve();
  private idle: (() => void) | undefined;
  private reloads = { ok: 0, failed: 0 };
  private closed = false;

  private constructor(
    /** Where each bundle is loaded from. */
    readonly sources: readonly BundleSource[],
    private readonly load: LoadBundle,
    private readonly persist: boolean,
    private readonly batching: BatchOptions | false,
  ) {
    this.defaultName = (sources[0] as BundleSource).name;
  }

  /**
   * Loads every source. `persist`: journal API item changes in `<dir>/overlay.journal` (default true).
   * `batching`: micro-batching of concurrent recommendations per bundle (server/batcher.ts; default
   * settings when omitted), or `false` to decode every request on its own.
   * @throws SEMID_ERR_BAD_INPUT for no sources, duplicate or malformed names; any loader error.
   */
  static async open(
    sources: readonly BundleSource[],
    load: LoadBundle,
    opts: { persist?: boolean; batching?: BatchOptions | false } = {},
  ): Promise<BundleRegistry> {
    if (sources.length === 0)
      throw new SemidError('SEMID_ERR_BAD_INPUT', 'at least one bundle is needed (--bundle <dir>)');
    const seen = new Set<string>();
    for (const s of sources) {
      if (!BUNDLE_NAME.test(s.name)) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `bundle name "${s.name}" must match ${BUNDLE_NAME} (use --bundle name=dir)`,
        );
      }
      if (seen.has(s.name)) throw new SemidError('SEMID_ERR_BAD_INPUT', `bundle name "${s.name}" is given twice`);
      seen.add(s.name);
    }
    if (opts.batching !== undefined && opts.batching !== false) resolveBatchOptions(opts.batching);
    const reg = new BundleRegistry(sources, load, opts.persist ?? true, opts.batching ?? {});
    const loaded = await reg.loadAll(sources);
    for (const [name, bundle] of loaded) reg.entries.set(name, { bundle, refs: 0, retired: false, disposed: false });
    return reg;
  }

  /** Names of the served bundles, default first. */
  get names(): string[] {
    return this.sources.map((s) => s.name);
  }

  /** The current bundles (for health and metrics; do not keep them across awaits). */
  bundles(): Bundle[] {
    return [...this.entries.values()].map((e) => e.bundle);
  }

  /** Reload counts since start. */
  get reloadCounts(): { ok: number; failed: number } {
    return { ...this.reloads };
  }

  /** Leases bundle `name` (default: the default bundle). @throws SEMID_ERR_UNKNOWN_BUNDLE */
  acquire(name?: string): Lease {
    const n = name ?? this.defaultName;
    const entry = this.entries.get(n);
    if (!entry || this.closed) {
      throw new SemidError(
        'SEMID_ERR_UNKNOWN_BUNDLE',
        `no bundle named "${n}"; this server serves: ${this.names.map((s) => `"${s}"`).join(', ')}`,
        { bundles: this.names },
      );
    }
    entry.refs++;
    let released = false;
    return {
      bundle: entry.bundle,
      release: () => {
        if (released) return;
        released = true;
        entry.refs--;
        this.maybeDispose(entry);
      },
    };
  }

  /** Runs `fn` on a leased bundle, releasing it afterwards. */
  async use<T>(name: string | undefined, fn: (b: Bundle) => Promise<T> | T): Promise<T> {
    const lease = this.acquire(name);
    try {
      return await fn(lease.bundle);
    } finally {
      lease.release();
    }
  }

  /** Runs an item change on bundle `name`, serialised with other changes and reloads. */
  mutate<T>(name: string | undefined, fn: (b: Bundle) => Promise<T>): Promise<T> {
    return this.serial(() => this.use(name, fn));
  }

  /**
   * Reloads bundles from their directories (all, or the named ones): loads every new bundle, then swaps
   * them in together. If any load fails nothing is swapped and the error is thrown.
   */
  reload(names?: readonly string[]): Promise<{ reloaded: string[] }> {
    return this.serial(async () => {
      const unknown = (names ?? []).filter((n) => !this.entries.has(n));
      if (unknown.length > 0) {
        throw new SemidError('SEMID_ERR_UNKNOWN_BUNDLE', `no bundle named ${unknown.map((u) => `"${u}"`).join(', ')}`, {
          bundles: this.names,
        });
      }
      const chosen = this.sources.filter((s) => names === undefined || names.includes(s.name));
      let loaded: Map<string, Bundle>;
      try {
        loaded = await this.loadAll(chosen);
      } catch (e) {
        this.reloads.failed++;
        throw e;
      }
      if (this.closed) {
        for (const b of loaded.values()) b.dispose();
        throw new SemidError('SEMID_ERR_UNAVAILABLE', 'the server is shutting down; reload abandoned');
      }
      // The swap: synchronous, so a request sees either all old or all new bundles.
      const next = new Map(this.entries);
      const old: Entry[] = [];
      for (const [name, bundle] of loaded) {
        const prev = next.get(name);
        if (prev) old.push(prev);
        next.set(name, { bundle, refs: 0, retired: false, disposed: false });
      }
      this.entries = next;
      for (const e of old) {
        e.retired = true;
        this.retiredEntries.add(e);
        this.maybeDispose(e);
      }
      this.reloads.ok++;
      return { reloaded: [...loaded.keys()] };
    });
  }

  /** Stops leasing, waits for every lease to end, and disposes all bundles. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.serial(async () => {
      this.closed = true;
      for (const e of this.entries.values()) {
        e.retired = true;
        this.retiredEntries.add(e);
      }
      this.entries = new Map();
      const pending = () => [...this.retiredEntries].some((e) => !e.disposed);
      for (const e of [...this.retiredEntries]) this.maybeDispose(e);
      if (pending()) await new Promise<void>((resolve) => (this.idle = resolve));
    });
  }

  private maybeDispose(e: Entry): void {
    if (!e.retired || e.refs > 0 || e.disposed) return;
    e.disposed = true;
    this.retiredEntries.delete(e);
    e.bundle.dispose();
    if (this.idle && this.retiredEntries.size === 0) {
      const done = this.idle;
      this.idle = undefined;
      done();
    }
  }

  private async loadAll(sources: readonly BundleSource[]): Promise<Map<string, Bundle>> {
    const out = new Map<string, Bundle>();
    try {
      for (const s of sources) {
        const parts = await this.load(s.dir);
        try {
          out.set(s.name, await Bundle.create(s.name, s.dir, parts, this.persist, this.batching));
        } catch (e) {
          parts.decoder.dispose();
          throw e;
        }
      }
    } catch (e) {
      for (const b of out.values()) b.dispose();
      throw e;
    }
    return out;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}
