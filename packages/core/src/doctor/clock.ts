/**
 * The local clock against the KDC's. Beyond the 300 s skew (RFC 4120 §1.6; MIT's and AD's
 * default clockskew) tickets are refused with KRB_AP_ERR_SKEW; above a minute it is worth a look.
 */
import { finding, type Finding } from './findings.js';

const SKEW_WARN_MS = 60_000;
const MAX_SKEW_MS = 300_000;

/**
 * @param source how the KDC's time was read, appended to the line (e.g. "its ticket's authtime")
 * @param resolutionMs the KDC time's granularity: differences within it count as none
 */
export function clockFinding(
  kdcTimeMs: number,
  localMs: number,
  source?: string,
  resolutionMs = 0,
): Finding {
  const diffMs = localMs - kdcTimeMs;
  const apartMs = Math.max(0, Math.abs(diffMs) - resolutionMs);
  const seconds = Math.round(apartMs / 1000);
  const side = diffMs >= 0 ? 'ahead of' : 'behind';
  const text = `the local clock is ${seconds} s ${side} the KDC's${source === undefined ? '' : ` (${source})`}`;
  if (apartMs > MAX_SKEW_MS) {
    return finding('clock', 'fail', `${text}: beyond the 300 s skew, tickets are refused`);
  }
  if (apartMs > SKEW_WARN_MS) return finding('clock', 'warn', `${text}: sync with NTP`);
  return finding('clock', 'ok', text);
}
