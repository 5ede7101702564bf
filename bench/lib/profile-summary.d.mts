// Types of profile-summary.mjs, for bench/suites/profile.ts (the bench scripts are plain JavaScript).
export interface ProfileShare {
  readonly name: string;
  /** Percent of all samples, one decimal. */
  readonly pct: number;
}
export interface ProfileSummary {
  readonly samples: number;
  readonly busySamples: number;
  readonly setupSamples: number;
  /** µs between samples. */
  readonly interval: number;
  readonly selfByFunction: readonly ProfileShare[];
  readonly selfByFile: readonly ProfileShare[];
  readonly inclusive: readonly ProfileShare[];
}
export function summariseProfile(
  path: string,
  options?: {
    readonly top?: number;
    readonly inclusive?: readonly string[];
    readonly setup?: readonly string[];
  },
): ProfileSummary;
