// Summaries of repeated measurements. Every figure the suite prints is a median over rounds with
// its spread, because one run on a shared two-core machine swings by tens of percent.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summary(values) {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** 12345.6 -> "12.3k"; small numbers keep their precision. */
export function formatNumber(value) {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 100_000) return `${Math.round(value / 1000)}k`;
  if (abs >= 10_000) return `${(value / 1000).toFixed(1)}k`;
  if (abs >= 1000) return `${(value / 1000).toFixed(2)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Ratios of paired samples (same round): the median of per-round ratios resists drift better
 *  than the ratio of medians when the machine's load changes during a run. */
export function pairedRatio(a, b) {
  const n = Math.min(a.length, b.length);
  const ratios = [];
  for (let i = 0; i < n; i++) if (b[i] > 0) ratios.push(a[i] / b[i]);
  return summary(ratios);
}
