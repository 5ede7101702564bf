/**
 * `npm run bench -- --compare FILE` (bench/lib/compare.mjs): the figures a results file keeps,
 * read back from its data comment or, for files written before it, from its tables, and the
 * current run's rows matched with an earlier file's by suite and label, so a regression shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareResults,
  dataComment,
  readResults,
  renderComparison,
  suiteData,
} from '../bench/lib/compare.mjs';

const section = (title: string, scale: number, ratioScale = 1) => ({
  title,
  rows: [
    { label: 'no auth', unit: 'req/s', samples: [100 * scale, 110 * scale, 90 * scale] },
    {
      label: 'Digest',
      unit: 'req/s',
      samples: [80 * scale * ratioScale, 88 * scale * ratioScale, 72 * scale * ratioScale],
      ratioTo: 'no auth',
    },
    { label: 'RSS per handshake', unit: 'KiB', samples: [1.0 / scale] },
  ],
});

describe('bench --compare', () => {
  it('keeps the median and the paired ratio of every row, and reads them back', () => {
    const rows = suiteData('http', [section('HTTP overhead, node:http', 1)]);
    assert.deepEqual(
      rows.map((row) => [row.label, row.median, row.ratio]),
      [
        ['no auth', 100, undefined],
        ['Digest', 80, 0.8],
        ['RSS per handshake', 1, undefined],
      ],
    );
    const meta = { commit: 'abc123', node: 'v20', openssl: '3.0', cpu: '2 × X', date: 'today' };
    // A label with "--" must not end the HTML comment early.
    const tricky = [{ ...rows[0]!, label: 'a -- b' }];
    const text = `# results\n\n| table |\n${dataComment(meta, tricky)}`;
    assert.equal(text.match(/-->/g)?.length, 1);
    assert.deepEqual(readResults(text), { meta, rows: tricky });
  });

  it('matches rows by suite and label and flags a regression on the ratio', () => {
    const earlier = suiteData('http', [section('HTTP overhead, node:http', 1)]);
    // Twice as fast a machine, but Digest now keeps 0.6x of no auth instead of 0.8x.
    const current = [
      ...suiteData('http', [section('HTTP overhead, node:http', 2, 0.75)]),
      ...suiteData('gateway', [section('Gateway', 1)]),
    ];
    const { matched, unmatched } = compareResults(earlier, current);
    assert.equal(unmatched, 3); // the gateway rows have no earlier counterpart
    const byLabel = new Map(matched.map((row) => [row.label, row]));
    assert.equal(byLabel.get('no auth')?.medianChange, 2);
    assert.equal(byLabel.get('no auth')?.worse, false);
    const digest = byLabel.get('Digest')!;
    assert.ok(Math.abs(digest.ratioChange! - 0.75) < 1e-9);
    assert.equal(digest.worse, true, 'a ratio 25% lower is a regression, whatever the median');
    // KiB: lower is better, so halving is no regression, doubling would be.
    assert.equal(byLabel.get('RSS per handshake')?.worse, false);
    const worse = compareResults(current.slice(0, 3), earlier);
    assert.equal(worse.matched.find((row) => row.label === 'RSS per handshake')?.worse, true);
    const table = renderComparison({ matched, unmatched }, { commit: 'abc123' });
    assert.match(table, /Compared with abc123/);
    assert.match(
      table,
      /\| http \| Digest \| 80\.0 req\/s \| 120 req\/s \| 1\.50 \| 0\.80x → 0\.60x \(0\.75\) \| \*\*yes\*\* \|/,
    );
  });

  it('a row that says lower is better (or has only a maximum) is judged that way, ratio included', () => {
    const cpu = (scale: number) => [
      {
        title: 'CPU',
        rows: [
          { label: 'base', unit: 'µs', samples: [10, 10, 10] },
          {
            label: 'with auth',
            unit: 'µs',
            samples: [11 * scale, 11 * scale, 11 * scale],
            ratioTo: 'base',
            target: { max: 1.05, text: 'adds < 5%' },
          },
          {
            label: 'share',
            unit: '',
            samples: [0.04 * scale],
            target: { max: 0.05, text: '< 5%' },
          },
          {
            label: 'part',
            unit: 'µs',
            samples: [12 * scale],
            ratioTo: 'base',
            better: 'lower' as const,
          },
        ],
      },
    ];
    const earlier = suiteData('certificates', cpu(1));
    assert.equal(earlier.find((row) => row.label === 'share')?.better, 'lower');
    const faster = compareResults(earlier, suiteData('certificates', cpu(0.75)));
    for (const row of faster.matched) assert.equal(row.worse, false, row.label);
    const slower = compareResults(earlier, suiteData('certificates', cpu(1.25)));
    assert.deepEqual(
      slower.matched.filter((row) => row.worse).map((row) => row.label),
      ['with auth', 'share', 'part'],
    );
  });

  it('reads a results file written before the data comment from its tables', () => {
    const old = [
      '# httpauth benchmark results (full run)',
      '',
      '### 2. HTTP overhead, node:http',
      '',
      '| Measurement | Median | Spread (min–max) | Ratio (median, min–max) | Target | Met |',
      '|---|---:|---:|---:|---|:-:|',
      '| no auth | 37.9k req/s | 31.4k–40.2k |  |  |  |',
      '| Digest | 25.2k req/s | 23.5k–27.0k | 0.67x (0.67–0.75) of no auth | within 15% | **no** |',
      '',
      '### Redis store (rounds: 5, up to 1000 ms each; ops/s)',
      '',
      '| measurement | median | spread (min-max) | vs memory |',
      '| --- | ---: | ---: | ---: |',
      '| replay-cache checks, Redis, one at a time | 10,244 | 7,822-12,666 | 0.02 |',
    ].join('\n');
    const { meta, rows } = readResults(old);
    assert.deepEqual(meta, {});
    assert.deepEqual(
      rows.map((row) => [row.suite, row.label, row.median, row.unit, row.ratio]),
      [
        ['2. HTTP overhead, node:http', 'no auth', 37_900, 'req/s', undefined],
        ['2. HTTP overhead, node:http', 'Digest', 25_200, 'req/s', 0.67],
        [
          'Redis store (rounds: 5, up to 1000 ms each; ops/s)',
          'replay-cache checks, Redis, one at a time',
          10_244,
          '',
          undefined,
        ],
      ],
    );
    // A current row of suite 'http' matches the old file's section title.
    const current = suiteData('http', [section('2. HTTP overhead, node:http', 1)]);
    const { matched } = compareResults(rows, current);
    assert.deepEqual(
      matched.map((row) => row.label),
      ['no auth', 'Digest'],
    );
  });
});
