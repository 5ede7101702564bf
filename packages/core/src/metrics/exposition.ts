/**
 * Counters, gauges and histograms rendered in the Prometheus text exposition format (version
 * 0.0.4), kept in plain Maps: the handful of series httpauth has does not justify a client
 * library.
 *
 * Label values must come from closed sets (the caller maps anything else to `other`); as a second
 * bound each family stops adding series at MAX_SERIES and counts any new label set under
 * `other`, so no client can grow the output without limit.
 */

/** Series per family at most; a new label set past this is counted under `other` labels. */
export const MAX_SERIES = 512;

/** Seconds: from a sub-millisecond accept to a slow domain controller. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The label names and values of one series of a metric. */
export type Labels = Readonly<Record<string, string>>;

const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabel(value: string): string {
  // Label values are nearly always plain (codes, mechanisms, statuses): test before replacing.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{a="1",b="2"}`, or the empty string for no labels. Built for every counted event. */
export function labelText(labels: Labels): string {
  let text = '';
  for (const name in labels) {
    if (!Object.hasOwn(labels, name)) continue;
    text += `${text === '' ? '{' : ','}${name}="${escapeLabel(labels[name] as string)}"`;
  }
  return text === '' ? '' : text + '}';
}

/** The value itself when it is in `allowed`, else `other`. */
export function bounded(value: string, allowed: ReadonlySet<string>): string {
  return allowed.has(value) ? value : 'other';
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

abstract class Family<Series> {
  protected readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The series for these labels, created on first use within the MAX_SERIES bound. */
  protected seriesFor(labels: Labels, create: () => Series): [string, Series] {
    let key = labelText(labels);
    let found = this.series.get(key);
    if (found === undefined) {
      if (this.series.size >= MAX_SERIES) {
        key = labelText(Object.fromEntries(Object.keys(labels).map((name) => [name, 'other'])));
        found = this.series.get(key);
      }
      if (found === undefined) {
        found = create();
        this.series.set(key, found);
      }
    }
    return [key, found];
  }

  abstract render(lines: string[]): void;
}

/** One series of a {@link Counter}, from `child(labels)`. */
export interface CounterChild {
  /** Adds `by` (default 1) to the series. */
  inc(by?: number): void;
}

/**
 * A Prometheus counter family: one monotonically increasing value per label set, the number of
 * label sets bounded.
 */
export class Counter extends Family<{ value: number }> {
  /** Adds `by` (default 1) to the series of these labels. */
  inc(labels: Labels = {}, by = 1): void {
    this.seriesFor(labels, () => ({ value: 0 }))[1].value += by;
  }

  /**
   * The series of these labels, to count into without building its label text for every event
   * (a caller that counts the same label set often keeps it). Past MAX_SERIES it is the `other`
   * series, as `inc` would count it.
   */
  child(labels: Labels = {}): CounterChild {
    const [, series] = this.seriesFor(labels, () => ({ value: 0 }));
    return {
      inc: (by = 1) => {
        series.value += by;
      },
    };
  }

  /** Appends the family in the Prometheus text exposition format. */
  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const [labels, { value }] of this.series) {
      lines.push(`${this.name}${labels} ${formatNumber(value)}`);
    }
  }
}

/** A gauge read when the metrics are rendered (pending handshakes, in-flight requests). */
export class Gauge extends Family<never> {
  constructor(
    name: string,
    help: string,
    private readonly read: () => number,
  ) {
    super(name, help);
  }

  /** Appends the family in the Prometheus text exposition format. */
  render(lines: string[]): void {
    lines.push(
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${formatNumber(this.read())}`,
    );
  }
}

/** One label set of a {@link Histogram}: cumulative bucket counts, observation count and sum. */
export interface HistogramSeries {
  readonly buckets: number[];
  count: number;
  sum: number;
}

/** One series of a {@link Histogram}, from `child(labels)`. */
export interface HistogramChild {
  /** Records one observation; a negative or non-finite value is ignored. */
  observe(value: number): void;
}

/**
 * A Prometheus histogram family: observations counted into cumulative buckets (latency buckets in
 * seconds by default), with their count and sum per label set.
 */
export class Histogram extends Family<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[] = LATENCY_BUCKETS,
  ) {
    super(name, help);
  }

  /** Records one observation; a negative or non-finite value is ignored. */
  observe(value: number, labels: Labels = {}): void {
    if (!Number.isFinite(value) || value < 0) return;
    const [, series] = this.seriesFor(labels, () => ({
      buckets: new Array<number>(this.bounds.length).fill(0),
      count: 0,
      sum: 0,
    }));
    this.#record(series, value);
  }

  /** The series of these labels, to observe into without building its label text each time. */
  child(labels: Labels = {}): HistogramChild {
    const [, series] = this.seriesFor(labels, () => ({
      buckets: new Array<number>(this.bounds.length).fill(0),
      count: 0,
      sum: 0,
    }));
    return {
      observe: (value) => {
        if (Number.isFinite(value) && value >= 0) this.#record(series, value);
      },
    };
  }

  #record(series: HistogramSeries, value: number): void {
    series.count++;
    series.sum += value;
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]!) series.buckets[i]!++;
    }
  }

  /** Appends the family in the Prometheus text exposition format. */
  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const [key, series] of this.series) {
      // Bucket labels go after the series' own labels, inside the same braces.
      const inner = key === '' ? '' : `${key.slice(1, -1)},`;
      this.bounds.forEach((le, i) => {
        lines.push(`${this.name}_bucket{${inner}le="${le}"} ${series.buckets[i]}`);
      });
      lines.push(
        `${this.name}_bucket{${inner}le="+Inf"} ${series.count}`,
        `${this.name}_sum${key} ${formatNumber(series.sum)}`,
        `${this.name}_count${key} ${series.count}`,
      );
    }
  }
}

/** The exposition of several families, in order, ending with a newline. */
export function renderFamilies(families: readonly { render(lines: string[]): void }[]): string {
  const lines: string[] = [];
  for (const family of families) family.render(lines);
  return `${lines.join('\n')}\n`;
}

/** The Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
