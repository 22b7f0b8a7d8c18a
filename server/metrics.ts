/**
 * Prometheus metrics in the text exposition format (version 0.0.4), kept in plain maps: request
 * counts by method, route and status; latency histograms by route; in-flight requests; item changes;
 * grounding misses; and bundle facts, filled in at scrape time by the app.
 */

/** Upper bounds (seconds) of the latency histogram buckets. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (l: Record<string, string>): string => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Counters and histograms of one server. */
export class Metrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; n: number }>();
  private readonly latency = new Map<string, Histogram>();
  private readonly counters = new Map<
    string,
    { help: string; values: Map<string, { labels: Record<string, string>; n: number }> }
  >();
  /** Requests being handled right now. */
  inFlight = 0;

  /** Records one finished request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const l = { method, route, status: String(status) };
    const key = `${method} ${route} ${status}`;
    const r = this.requests.get(key);
    if (r) r.n++;
    else this.requests.set(key, { labels: l, n: 1 });
    let h = this.latency.get(route);
    if (!h) {
      h = { counts: new Array<number>(LATENCY_BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.latency.set(route, h);
    }
    for (let i = 0; i < LATENCY_BUCKETS.length; i++)
      if (seconds <= (LATENCY_BUCKETS[i] as number)) h.counts[i] = (h.counts[i] as number) + 1;
    h.sum += seconds;
    h.count++;
  }

  /** Adds `by` to counter `name` (declared on first use with `help`). */
  inc(name: string, help: string, l: Record<string, string>, by = 1): void {
    let c = this.counters.get(name);
    if (!c) {
      c = { help, values: new Map() };
      this.counters.set(name, c);
    }
    const key = JSON.stringify(l);
    const v = c.values.get(key);
    if (v) v.n += by;
    else c.values.set(key, { labels: l, n: by });
  }

  /** How many requests finished with `status` on `route` (any method). */
  count(route: string, status?: number): number {
    let n = 0;
    for (const r of this.requests.values()) {
      if (r.labels.route === route && (status === undefined || r.labels.status === String(status))) n += r.n;
    }
    return n;
  }

  /**
   * The exposition text. `gauges` are extra gauge families computed at scrape time:
   * name -> {help, samples: [labels, value]}.
   */
  render(gauges: Record<string, { help: string; samples: [Record<string, string>, number][] }> = {}): string {
    const out: string[] = [];
    out.push('# HELP semid_http_requests_total HTTP requests answered, by method, route and status.');
    out.push('# TYPE semid_http_requests_total counter');
    for (const r of this.requests.values()) out.push(`semid_http_requests_total${labels(r.labels)} ${r.n}`);
    out.push('# HELP semid_http_request_duration_seconds Time from request start to response, by route.');
    out.push('# TYPE semid_http_request_duration_seconds histogram');
    for (const [route, h] of this.latency) {
      LATENCY_BUCKETS.forEach((le, i) => {
        out.push(`semid_http_request_duration_seconds_bucket${labels({ route, le: String(le) })} ${h.counts[i]}`);
      });
      out.push(`semid_http_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${h.count}`);
      out.push(`semid_http_request_duration_seconds_sum${labels({ route })} ${h.sum}`);
      out.push(`semid_http_request_duration_seconds_count${labels({ route })} ${h.count}`);
    }
    out.push('# HELP semid_http_in_flight Requests being handled.');
    out.push('# TYPE semid_http_in_flight gauge');
    out.push(`semid_http_in_flight ${this.inFlight}`);
    const cpu = process.cpuUsage();
    out.push('# HELP process_cpu_seconds_total User and system CPU time of the server process.');
    out.push('# TYPE process_cpu_seconds_total counter');
    out.push(`process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`);
    out.push('# HELP process_resident_memory_bytes Resident memory of the server process.');
    out.push('# TYPE process_resident_memory_bytes gauge');
    out.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`);
      out.push(`# TYPE ${name} counter`);
      for (const v of c.values.values()) out.push(`${name}${labels(v.labels)} ${v.n}`);
    }
    for (const [name, g] of Object.entries(gauges)) {
      out.push(`# HELP ${name} ${g.help}`);
      out.push(`# TYPE ${name} gauge`);
      for (const [l, v] of g.samples) out.push(`${name}${labels(l)} ${v}`);
    }
    return `${out.join('\n')}\n`;
  }
}
