/**
 * What every suite shares: the --quick flag and the result format the runner turns into
 * markdown. A suite prints one JSON line `{ sections }` as its last stdout line.
 */
export const quick = process.argv.includes('--quick');

export interface Row {
  readonly label: string;
  readonly unit: string;
  /** One value per round (rounds are paired across rows of a section). */
  readonly samples: readonly number[];
  /** Label of the row this one is divided by, round by round. */
  readonly ratioTo?: string;
  /** Target on the ratio (or on the value itself when there is no ratioTo). */
  readonly target?: { readonly min?: number; readonly max?: number; readonly text: string };
  readonly note?: string;
  /**
   * Which way the figure (the ratio, when there is one) improves, for `--compare`'s regression
   * mark; a target that is only a maximum says 'lower' by itself. Default: higher, except a
   * time or size without a ratio.
   */
  readonly better?: 'lower' | 'higher';
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly note?: string;
  readonly rows: readonly Row[];
  readonly warnings?: readonly string[];
  /** Written as is instead of the rows' table (profiles); such a section has no rows. */
  readonly markdown?: string;
}

export function emit(sections: readonly Section[]): void {
  console.log(JSON.stringify({ sections }));
}
