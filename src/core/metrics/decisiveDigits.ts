/**
 * How a value is printed where a rule compares it with a threshold: the line labels, the record
 * view and the overview's tables. One rule for all three, so a value reads the same way against the
 * same threshold everywhere. No imports: the webview bundle uses it too.
 */

/** The least a value is printed with: fixed decimals (`1.20`) or significant digits with no trailing zeros (`1.2`). */
export type Precision = { decimals: number } | { significant: number };

/** Past this many digits a double has nothing more to show: its shortest exact form is printed instead. */
const MOST_DIGITS = 20;

/**
 * `v` with `precision`, and with as many more digits as it takes for the printed number to fall on
 * the same side of `threshold` as `v` (on it only when `v` is it): against `IFD < 1`, 1.001 is
 * "1.001", not "1.00" (which reads as failing it), and 0.9996 is "0.9996", not "1.00". The side, not
 * "any text but the threshold's", because a threshold between two printable values (an `ifdWarnAt`
 * of 0.75405) can be crossed by rounding (0.7541 to three digits is 0.754). Without a threshold (DS)
 * the precision alone.
 */
export function decisiveDigits(v: number, threshold: number | undefined, precision: Precision): string {
  if (!Number.isFinite(v)) return String(v);
  const fixed = 'decimals' in precision;
  const print = (digits: number): string => (fixed ? v.toFixed(digits) : String(Number(v.toPrecision(digits))));
  const first = fixed ? precision.decimals : precision.significant;
  let text = print(first);
  if (threshold === undefined) return text;
  const side = Math.sign(v - threshold);
  for (let digits = first + 1; Math.sign(Number(text) - threshold) !== side; digits++) {
    if (digits > MOST_DIGITS) return String(v);
    text = print(digits);
  }
  return text;
}
