// The results file's machine-readable part and `npm run bench -- --compare FILE`: pure functions,
// tested in test/bench-compare.test.ts.
//
// A results file (bench/results/*.md) is markdown for people, with its figures repeated at the end
// in one HTML comment, `<!-- httpauth-bench-data {...} -->`, so that a later run can be compared
// with it row by row: rows are matched by suite and label, and each match prints the current
// median over the earlier one and, for a row measured as a ratio to a peer, the current ratio
// over the earlier ratio (on a shared machine the ratio is the figure to trust). Files written
// before the comment existed are read from their tables (section title in place of the suite).
import { formatNumber, pairedRatio, summary } from './stats.mjs';

const MARKER = 'httpauth-bench-data';

/** Units where a smaller figure is better: a rise is a regression. */
const LOWER_IS_BETTER = /^(µs|us|ms|s|KiB|MiB|B|bytes)\b/;

/**
 * Which way a row's figure (its ratio when it has one) improves, when the row says so: `better`
 * itself, or a target that is only a maximum (a share, a CPU ratio to a baseline).
 */
function betterOf(row) {
  if (row.better === 'lower' || row.better === 'higher') return row.better;
  if (row.target?.max !== undefined && row.target.min === undefined) return 'lower';
  return undefined;
}

/** The figures of one suite's sections, as the results file keeps them. */
export function suiteData(suiteId, sections) {
  return sections
    .filter((section) => Array.isArray(section.rows))
    .flatMap((section) => {
      const byLabel = new Map(section.rows.map((row) => [row.label, row]));
      return section.rows.map((row) => {
        const s = summary(row.samples);
        const ref = row.ratioTo === undefined ? undefined : byLabel.get(row.ratioTo);
        const ratio = ref === undefined ? undefined : pairedRatio(row.samples, ref.samples).median;
        return {
          suite: suiteId,
          section: section.title,
          label: row.label,
          unit: row.unit,
          median: s.median,
          ...(ratio === undefined ? {} : { ratio, ratioTo: row.ratioTo }),
          ...(betterOf(row) === undefined ? {} : { better: betterOf(row) }),
        };
      });
    });
}

/** The comment that ends a results file: `meta` (commit, versions, CPU, date) and the rows. */
export function dataComment(meta, rows) {
  // `--` may not appear inside an HTML comment.
  const json = JSON.stringify({ meta, rows }).replaceAll('--', '-\\u002d');
  return `<!-- ${MARKER} ${json} -->\n`;
}

/** 12.3k -> 12300; 1.05x -> 1.05; n/a -> NaN. */
function parseFigure(text) {
  const match = /^(-?[\d.]+)\s*([kM]?)/.exec(text.trim().replaceAll(',', ''));
  if (match === null) return Number.NaN;
  const scale = match[2] === 'k' ? 1e3 : match[2] === 'M' ? 1e6 : 1;
  return Number(match[1]) * scale;
}

/** Rows of the markdown tables of a results file written before the data comment existed. */
function rowsFromTables(text) {
  const rows = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('### ')) {
      section = line.slice(4).trim();
      continue;
    }
    const cells = line.split('|').map((cell) => cell.trim());
    // | label | median unit | spread | ratio | target | met |
    if (
      cells.length < 5 ||
      cells[1] === '' ||
      /^-+:?$/.test(cells[2]) ||
      cells[1] === 'Measurement'
    )
      continue;
    const median = parseFigure(cells[2]);
    if (!Number.isFinite(median)) continue;
    const unit = cells[2].replaceAll(',', '').replace(/^-?[\d.]+\s*[kM]?\s*/, '');
    const ratioMatch = /^([\d.]+)x .* of (.+)$/.exec(cells[4] ?? '');
    rows.push({
      suite: section,
      section,
      label: cells[1],
      unit,
      median,
      ...(ratioMatch === null ? {} : { ratio: Number(ratioMatch[1]), ratioTo: ratioMatch[2] }),
    });
  }
  return rows;
}

/** The meta and rows of a results file: its data comment, or else its tables. */
export function readResults(text) {
  const start = text.lastIndexOf(`<!-- ${MARKER} `);
  if (start !== -1) {
    const end = text.indexOf(' -->', start);
    const json = text.slice(start + MARKER.length + 5, end === -1 ? undefined : end);
    const data = JSON.parse(json);
    return { meta: data.meta ?? {}, rows: data.rows ?? [] };
  }
  return { meta: {}, rows: rowsFromTables(text) };
}

/**
 * Current rows matched with earlier ones by suite and label (an earlier file read from its tables
 * names the section title as its suite, so the title matches too). `change` is current / earlier
 * for the median and, when both are ratios to a peer, for the ratio; `worse` says whether that
 * change is a regression beyond `tolerance` (0.1: more than 10% slower, or 10% more µs or KiB).
 */
export function compareResults(earlier, current, { tolerance = 0.1 } = {}) {
  const index = new Map();
  for (const row of earlier) index.set(`${row.suite}\u0000${row.label}`, row);
  const matched = [];
  for (const row of current) {
    const before =
      index.get(`${row.suite}\u0000${row.label}`) ?? index.get(`${row.section}\u0000${row.label}`);
    if (before === undefined) continue;
    const lowerIsBetter = LOWER_IS_BETTER.test(row.unit ?? '');
    const medianChange = before.median > 0 ? row.median / before.median : Number.NaN;
    const ratioChange =
      row.ratio !== undefined && before.ratio !== undefined && before.ratio > 0
        ? row.ratio / before.ratio
        : undefined;
    // Judge on the ratio when there is one (it pairs the row with its peer in the same run).
    // Which way is better: what the row says, else a unit of time or size on its own figure.
    const judged = ratioChange ?? medianChange;
    const better = row.better ?? (lowerIsBetter && ratioChange === undefined ? 'lower' : 'higher');
    const worse = better === 'lower' ? judged > 1 + tolerance : judged < 1 / (1 + tolerance);
    matched.push({
      suite: row.suite,
      label: row.label,
      unit: row.unit,
      before: before.median,
      after: row.median,
      medianChange,
      ...(ratioChange === undefined
        ? {}
        : { ratioBefore: before.ratio, ratioAfter: row.ratio, ratioChange }),
      worse,
    });
  }
  const seen = new Set(matched.map((row) => `${row.suite}\u0000${row.label}`));
  const unmatched = current.filter((row) => !seen.has(`${row.suite}\u0000${row.label}`)).length;
  return { matched, unmatched };
}

const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** The comparison as a markdown table, regressions marked. */
export function renderComparison({ matched, unmatched }, earlierMeta = {}) {
  const then = [
    earlierMeta.node && `Node ${earlierMeta.node}`,
    earlierMeta.openssl && `OpenSSL ${earlierMeta.openssl}`,
    earlierMeta.cpu,
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [
    `### Compared with ${earlierMeta.commit ?? 'an earlier run'}${earlierMeta.date ? ` (${earlierMeta.date})` : ''}`,
    '',
    ...(then === '' ? [] : [`Then: ${then}.`, '']),
    'Now / then, per row (matched by suite and label). Where a row is a ratio to a peer measured in ',
    'the same run, the ratio is compared too, and it decides: absolute figures swing between runs.',
    '',
    '| Suite | Measurement | Then | Now | Now / then | Ratio then → now | Regression |',
    '|---|---|---:|---:|---:|---:|:-:|',
  ];
  for (const row of matched) {
    const ratio =
      row.ratioChange === undefined
        ? ''
        : `${fixed(row.ratioBefore)}x → ${fixed(row.ratioAfter)}x (${fixed(row.ratioChange)})`;
    lines.push(
      `| ${row.suite} | ${row.label} | ${formatNumber(row.before)} ${row.unit ?? ''} | ${formatNumber(row.after)} ${row.unit ?? ''} | ${fixed(row.medianChange)} | ${ratio} | ${row.worse ? '**yes**' : ''} |`,
    );
  }
  if (unmatched > 0)
    lines.push('', `${unmatched} rows of this run have no match in the earlier file.`);
  return `${lines.join('\n')}\n`;
}
