import type { DsRule, MetricResult } from './types';

/** A DS weight with the intermediate w' = mean valid loss / sample loss (IWSI Eq. 3). */
export type DsResult = MetricResult & { wPrime?: number };

/** The mean valid-set loss (null with a reason when nothing was scorable), with the entries in it and left out. */
export type ValidMean = MetricResult & { n: number; ignored: number };

/**
 * DS weight of one candidate (METHODS §5.2) from its mean NLL over the whole text and the valid set's
 * mean loss.
 * - `paper` (IWSI Eqs. 3-4): w' = valid / L, DS = max(w', 1/w'). L = 0 makes w' infinite and DS
 *   undefined, so it is null (with wPrime = Infinity).
 * - `repo` (record_weights.py, filter_data.py): w' = 0 if L = 0 else clip(valid / L, 0, 2);
 *   DS = w' if w' > 1 else min(1/w', 5). w' = 0 is how the code excludes a sample, so it is null.
 * Test vector §8.2 #2. DS >= 1 always; 1 means the sample looks like the valid set.
 */
export function dsWeight(lossXY: number, validMeanLoss: number, rule: DsRule = 'paper'): DsResult {
  if (!Number.isFinite(validMeanLoss) || validMeanLoss <= 0) {
    return { value: null, reason: `valid-set mean loss must be a positive number (got ${String(validMeanLoss)})` };
  }
  if (!Number.isFinite(lossXY) || lossXY < 0) {
    return { value: null, reason: `loss must be a finite number >= 0 (got ${String(lossXY)})` };
  }
  if (rule === 'paper') {
    if (lossXY === 0) return { value: null, reason: "loss 0: w' is infinite, DS undefined", wPrime: Infinity };
    const wPrime = validMeanLoss / lossXY;
    return { value: Math.max(wPrime, 1 / wPrime), wPrime };
  }
  const wPrime = lossXY === 0 ? 0 : Math.min(2, Math.max(0, validMeanLoss / lossXY));
  if (wPrime === 0) return { value: null, reason: "loss 0: w' = 0, excluded (repo rule)", wPrime };
  return { value: wPrime > 1 ? wPrime : Math.min(1 / wPrime, 5), wPrime };
}

/**
 * Mean of the valid set's per-sample mean losses: the only way D_v enters the DS weight (IWSI Eq. 8,
 * `avg = mean(valid_losses)`). Non-finite entries (unscorable samples) are left out and counted in
 * `ignored`; with none left the result is null.
 */
export function validMean(losses: readonly number[]): ValidMean {
  let sum = 0;
  let n = 0;
  for (const loss of losses) {
    if (!Number.isFinite(loss)) continue;
    sum += loss;
    n++;
  }
  const ignored = losses.length - n;
  if (n === 0) {
    const reason = losses.length === 0 ? 'empty valid set' : `no scorable valid-set sample (${String(ignored)} ignored)`;
    return { value: null, reason, n, ignored };
  }
  return { value: sum / n, n, ignored };
}
