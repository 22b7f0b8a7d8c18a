/**
 * Prometheus metrics through prom-client: Node runtime metrics (event-loop lag, heap, GC, CPU,
 * handles; collected once per process) plus semid's own per app: request counts by method, route and
 * status, request latency histograms by route, in-flight requests, item changes, requests refused by
 * the cost budget, decode latency, and bundle facts read at scrape time.
 */
import client from 'prom-client';
import { BatchingDecoder } from './batcher.js';
import type { BundleRegistry } from './registry.js';

/** Upper bounds (seconds) of the latency histogram buckets. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let runtime: client.Registry | undefined;
/** The process-wide registry of Node runtime metrics (created on first use). */
function runtimeRegistry(): client.Registry {
  if (!runtime) {
    runtime = new client.Registry();
    client.collectDefaultMetrics({ register: runtime });
  }
  return runtime;
}

/** Label-safe name of an info key. */
const labelName = (k: string): string => k.replace(/[^a-zA-Z0-9_]/g, '_');

/** The metrics of one semid app. */
export class Metrics {
  /** Where semid's own metrics live; render() adds the runtime metrics. */
  readonly registry = new client.Registry();
  private readonly requests = new client.Counter({
    name: 'semid_http_requests_total',
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly latency = new client.Histogram({
    name: 'semid_http_request_duration_seconds',
    help: 'Time from request start to response, by route.',
    labelNames: ['route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly inFlightGauge = new client.Gauge({
    name: 'semid_http_in_flight',
    help: 'Requests being handled.',
    registers: [this.registry],
  });
  private readonly changes = new client.Counter({
    name: 'semid_item_changes_total',
    help: 'Items added or removed through the API.',
    labelNames: ['op', 'bundle'] as const,
    registers: [this.registry],
  });
  private readonly refused = new client.Counter({
    name: 'semid_requests_over_budget_total',
    help: 'Requests refused because their decoding cost exceeded the budget.',
    registers: [this.registry],
  });

  /** @param registry the bundles whose facts are read at scrape time. */
  constructor(registry: BundleRegistry) {
    const bundles = () => registry.bundles();
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (set: (labels: Record<string, string>, v: number) => void) => void,
    ) =>
      new client.Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          fill((l, v) => this.set(l, v));
        },
      });
    const infoKeys = () => [...new Set(bundles().flatMap((b) => Object.keys(b.info).map(labelName)))];
    // Label names are fixed at creation, so the info gauge is rebuilt when the set of keys changes.
    let infoNames = '';
    const info = () => {
      const keys = infoKeys().filter((k) => !['bundle', 'levels', 'loaded_at'].includes(k));
      if (keys.join(',') === infoNames) return;
      infoNames = keys.join(',');
      this.registry.removeSingleMetric('semid_bundle_info');
      gauge(
        'semid_bundle_info',
        'One sample per loaded bundle; labels describe it.',
        ['bundle', 'levels', 'loaded_at', ...keys],
        (set) => {
          for (const b of bundles()) {
            set(
              {
                bundle: b.name,
                levels: String(b.catalogue.levels),
                loaded_at: b.loadedAt.toISOString(),
                ...Object.fromEntries(
                  Object.entries(b.info)
                    .map(([k, v]) => [labelName(k), String(v)])
                    .filter(([k]) => keys.includes(k as string)),
                ),
              },
              1,
            );
          }
        },
      );
    };
    this.refreshInfo = info;
    gauge('semid_bundle_items', 'Live (decodable) items per bundle.', ['bundle'], (set) => {
      for (const b of bundles()) set({ bundle: b.name }, b.catalogue.size);
    });
    gauge(
      'semid_bundle_retired_items',
      'Items removed from decoding per bundle (codes kept for histories).',
      ['bundle'],
      (set) => {
        for (const b of bundles()) set({ bundle: b.name }, b.catalogue.retired.size);
      },
    );
    gauge('semid_bundle_loaded_timestamp_seconds', 'When each bundle was loaded (Unix seconds).', ['bundle'], (set) => {
      for (const b of bundles()) set({ bundle: b.name }, b.loadedAt.getTime() / 1000);
    });
    gauge('semid_reloads', 'Bundle reloads since start, by result.', ['result'], (set) => {
      const r = registry.reloadCounts;
      set({ result: 'ok' }, r.ok);
      set({ result: 'failed' }, r.failed);
    });
    const batch = (name: string, help: string, pick: (s: BatchingDecoder['stats']) => number) =>
      gauge(name, help, ['bundle'], (set) => {
        for (const b of bundles())
          if (b.decoder instanceof BatchingDecoder) set({ bundle: b.name }, pick(b.decoder.stats));
      });
    batch('semid_decode_batches', 'Batched decoder calls since the bundle was loaded.', (s) => s.batches);
    batch('semid_decode_batch_requests', 'Requests served through batched decoder calls.', (s) => s.calls);
    batch('semid_decode_batch_histories', 'Histories decoded in batched decoder calls.', (s) => s.histories);
    batch('semid_decode_batch_largest', 'Largest batch so far, in histories.', (s) => s.largest);
    batch(
      'semid_decode_batch_split_retries',
      'Batches that failed and were retried request by request.',
      (s) => s.splitRetries,
    );
  }

  private readonly refreshInfo: () => void;

  /** A request started. */
  started(): void {
    this.inFlightGauge.inc();
  }

  /** Records one finished request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.inFlightGauge.dec();
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  /** Counts an item change. */
  itemChanged(op: 'add' | 'remove', bundle: string): void {
    this.changes.inc({ op, bundle });
  }

  /** Counts a request refused by the cost budget. */
  overBudget(): void {
    this.refused.inc();
  }

  /** The exposition text (semid's metrics, then the runtime's). */
  async render(): Promise<string> {
    this.refreshInfo();
    return `${await this.registry.metrics()}\n${await runtimeRegistry().metrics()}`;
  }

  /** The exposition content type. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
