// Types of compare.mjs, for test/bench-compare.test.ts (the bench scripts are plain JavaScript).
export interface DataRow {
  readonly suite: string;
  readonly section: string;
  readonly label: string;
  readonly unit: string;
  readonly median: number;
  readonly ratio?: number;
  readonly ratioTo?: string;
  /** Which way the figure (the ratio, when there is one) improves, when the row says. */
  readonly better?: 'lower' | 'higher';
}
export interface SuiteSection {
  readonly title: string;
  readonly rows: readonly {
    readonly label: string;
    readonly unit: string;
    readonly samples: readonly number[];
    readonly ratioTo?: string;
    readonly target?: { readonly min?: number; readonly max?: number; readonly text: string };
    readonly better?: 'lower' | 'higher';
  }[];
}
export interface ComparedRow {
  readonly suite: string;
  readonly label: string;
  readonly unit: string;
  readonly before: number;
  readonly after: number;
  readonly medianChange: number;
  readonly ratioBefore?: number;
  readonly ratioAfter?: number;
  readonly ratioChange?: number;
  readonly worse: boolean;
}
export interface Comparison {
  readonly matched: readonly ComparedRow[];
  readonly unmatched: number;
}
export function suiteData(suiteId: string, sections: readonly SuiteSection[]): DataRow[];
export function dataComment(meta: Record<string, string>, rows: readonly DataRow[]): string;
export function readResults(text: string): { meta: Record<string, string>; rows: DataRow[] };
export function compareResults(
  earlier: readonly DataRow[],
  current: readonly DataRow[],
  options?: { readonly tolerance?: number },
): Comparison;
export function renderComparison(
  comparison: Comparison,
  earlierMeta?: Record<string, string>,
): string;
