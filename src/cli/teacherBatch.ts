/**
 * `sift reflect --batch` in words: the cost before a run, what a batch is doing while the CLI
 * waits, and `--batch-status` / `--batch-cancel`.
 */
import {
  FINAL_BATCH_STATUSES,
  estimateCost,
  formatMoney,
  jobsOf,
  type PriceTable,
  type ReflectionEstimate,
  type ReflectionMode,
  type TeacherBatchApi,
  type TeacherBatchEvent,
  type TeacherBatchJob,
  type TeacherBatchJobs,
} from '../core/reflect';

const n = (x: number): string => x.toLocaleString('en-US');

/** The estimate in money, synchronously and as a batch; or why there is no price. */
export function describeCost(estimate: ReflectionEstimate, model: string, prices: PriceTable, batch: boolean, mode: ReflectionMode): string {
  if (estimate.calls === 0) return '  estimated cost: nothing (every reflection is in the reflection cache)';
  const cost = estimateCost(prices, model, estimate);
  const from = prices.source === 'built-in' ? "Sift's price table" : prices.source;
  if (!cost) return `  estimated cost: no price for ${model} in ${from} (add it with --prices FILE: { "models": { "${model}": { "input": …, "output": … } } }, US$ per 1M tokens)`;
  const asOf = cost.asOf ? ` of ${cost.asOf}` : '';
  const priced = cost.priced === model ? model : `${model} (priced as ${cost.priced})`;
  const rates = `${priced} at ${formatMoney(cost.price.input, cost.currency)} / ${formatMoney(cost.price.output, cost.currency)} per 1M prompt / completion tokens, prices${asOf} from ${from}`;
  if (!batch) {
    return `  estimated cost: ~${formatMoney(cost.sync, cost.currency)} now, or ~${formatMoney(cost.batch, cost.currency)} with --batch (results within 24 h)\n    ${rates}`;
  }
  const rounds = mode === 'selective' ? '; a selective run takes two batches, one per stage' : '';
  return `  estimated cost: ~${formatMoney(cost.batch, cost.currency)} as a batch (~${formatMoney(cost.sync, cost.currency)} synchronously); results within 24 h per batch${rounds}\n    ${rates}`;
}

/** One line for each thing a batch run does while the CLI waits. */
export function describeBatchEvent(event: TeacherBatchEvent): string {
  switch (event.type) {
    case 'resumed':
      return `picking up teacher batch ${event.batchId} (submitted ${new Date(event.submittedAt).toISOString()}${event.status ? `, last seen ${event.status}` : ''})`;
    case 'submitted':
      return `teacher batch ${event.batchId} submitted: ${n(event.requests)} request(s) (round ${event.round}). Ctrl-C stops waiting; the batch goes on, and the same command picks it up again`;
    case 'status': {
      const counts = event.counts ? `: ${n(event.counts.completed)} of ${n(event.counts.total)} done${event.counts.failed > 0 ? `, ${n(event.counts.failed)} failed` : ''}` : '';
      return `teacher batch ${event.batchId}: ${event.status.replace('_', ' ')}${counts}`;
    }
    case 'downloaded':
      return `teacher batch ${event.batchId}: ${n(event.answered)} answer(s) downloaded${event.failed > 0 ? `, ${n(event.failed)} request(s) failed (asked again or reported by line)` : ''}`;
    case 'problem':
      return `warning: ${event.message}`;
  }
}

/** `--batch-status`: the dataset's batches as the teacher reports them now. */
export async function printBatchStatus(api: TeacherBatchApi, jobs: TeacherBatchJobs, dataset: string, signal?: AbortSignal): Promise<number> {
  const mine = (await jobsOf(jobs, dataset)).filter((j) => j.teacher.endpoint === api.endpoint);
  if (mine.length === 0) {
    process.stdout.write(`no teacher batch pending for ${dataset} at ${api.endpoint}\n`);
    return 0;
  }
  for (const job of mine) {
    if (job.batchId && (!job.status || !FINAL_BATCH_STATUSES.includes(job.status))) {
      const batch = await api.retrieve(job.batchId, signal);
      job.status = batch.status;
      if (batch.request_counts) job.counts = { ...batch.request_counts };
    }
    process.stdout.write(`${describeJob(job)}\n`);
  }
  return mine.length;
}

/** `--batch-cancel`: cancels the dataset's unfinished batches and forgets them all. */
export async function cancelBatches(api: TeacherBatchApi, jobs: TeacherBatchJobs, dataset: string, signal?: AbortSignal): Promise<number> {
  const mine = (await jobsOf(jobs, dataset)).filter((j) => j.teacher.endpoint === api.endpoint);
  for (const job of mine) {
    if (job.batchId && (!job.status || !FINAL_BATCH_STATUSES.includes(job.status))) {
      const batch = await api.cancel(job.batchId, signal);
      process.stdout.write(`teacher batch ${job.batchId}: ${batch.status} (requests already answered are still billed)\n`);
    }
    await jobs.remove(job.id);
  }
  if (mine.length === 0) process.stdout.write(`no teacher batch pending for ${dataset} at ${api.endpoint}\n`);
  return mine.length;
}

function describeJob(job: TeacherBatchJob): string {
  const requests = Object.keys(job.requests).length;
  const counts = job.counts ? `, ${n(job.counts.completed)} of ${n(job.counts.total)} done${job.counts.failed > 0 ? `, ${n(job.counts.failed)} failed` : ''}` : '';
  const id = job.batchId ?? `(not created: submission ${job.id})`;
  return `${id}: ${job.status ?? 'not submitted'}${counts}; ${n(requests)} request(s) to ${job.teacher.model}, mode ${job.mode}, submitted ${new Date(job.submittedAt).toISOString()}${job.downloaded ? ', answers downloaded' : ''}`;
}
