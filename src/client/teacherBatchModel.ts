import type { PendingTeacherBatch, ReflectionBatchResult, ReflectionCost, ReflectionEstimate } from '../protocol';

/**
 * The words of reflection through teacher batches, with no editor: the choice in the confirmation,
 * the cost lines, and what is said when a batch is left pending or picked up.
 */

const n = (x: number): string => x.toLocaleString('en-US');

/** The confirmation's button for a batch run. */
export function batchChoiceLabel(records: number): string {
  return `Reflect ${n(records)} record${records === 1 ? '' : 's'} (batch: about half the price, results within 24 h)`;
}

/** An amount for people: `$0.42`, `$0.0031`, `12.50 EUR` (as the CLI says it). */
export function money(amount: number, currency: string): string {
  const text = amount.toFixed(amount === 0 ? 2 : amount < 0.01 ? 4 : 2);
  return currency === 'USD' ? `$${text}` : `${text} ${currency}`;
}

/** The estimate's cost in money, now and as a batch, and where the prices come from. */
export function costLines(estimate: Pick<ReflectionEstimate, 'calls' | 'cost' | 'costNote' | 'teacher' | 'mode' | 'pendingBatches'>): string[] {
  const lines: string[] = [];
  if (estimate.calls === 0) lines.push('Cost: nothing (every reflection is in the reflection cache).');
  else if (estimate.cost) lines.push(costLine(estimate.cost, estimate.teacher.model));
  else if (estimate.costNote) lines.push(`Cost: ${estimate.costNote}.`);
  if (estimate.mode === 'selective') lines.push('As a batch, a selective run takes two batches (one per stage): results within 24 h each.');
  if (estimate.pendingBatches > 0) lines.push(`A teacher batch for this dataset is still pending: the batch choice picks it up instead of submitting it again.`);
  return lines;
}

function costLine(cost: ReflectionCost, model: string): string {
  const from = cost.source === 'built-in' ? "Sift's price table" : cost.source;
  const priced = cost.priced === model ? model : `${model} (priced as ${cost.priced})`;
  return (
    `Cost: about ${money(cost.sync, cost.currency)} now, or about ${money(cost.batch, cost.currency)} as a batch ` +
    `(${priced}: ${money(cost.input, cost.currency)} / ${money(cost.output, cost.currency)} per 1M prompt / completion tokens, prices${cost.asOf ? ` of ${cost.asOf}` : ''} from ${from}).`
  );
}

/** Said when a batch run stopped waiting: the batch goes on, and how it comes back. */
export function pendingMessage(fileName: string, result: Pick<ReflectionBatchResult, 'batch'>): string {
  const ids = result.batch?.batchIds.length ? ` (${result.batch.batchIds.join(', ')})` : '';
  return `Sift: stopped waiting for the teacher batch of ${fileName}${ids}. It goes on at the teacher; Sift picks it up when this workspace opens again, or run "Reflect Records…" as a batch on the same records.`;
}

/** The notification's title while a pending run is picked up. */
export function pickUpTitle(fileName: string, run: PendingTeacherBatch): string {
  return `Sift: teacher batch for ${fileName} (${n(run.lines.length)} record${run.lines.length === 1 ? '' : 's'}, submitted ${new Date(run.submittedAt).toLocaleString('en-US')})`;
}
