import { isSequenceRefusal } from '../../scoring/http/batching';
import { runAll } from '../../scoring/http/runAll';
import type { Generated, SampleHandlers, SampleJob } from './types';

/**
 * Jobs that can share one request, at most `perRequest` to a request: a request's sampling settings
 * (`n`, `seed`) are the same for all its prompts, so only jobs with the same first seed, count and
 * prompt kind go together. In a fresh run that is every question (all ask for samples 0..k-1).
 */
export function groupJobs(jobs: readonly SampleJob[], perRequest: number): number[][] {
  const groups = new Map<string, number[]>();
  jobs.forEach((job, i) => {
    const key = `${job.firstSeed}/${job.count}/${job.prompt.ids ? 'ids' : 'text'}`;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  const batches: number[][] = [];
  for (const group of groups.values()) {
    for (let at = 0; at < group.length; at += perRequest) batches.push(group.slice(at, at + perRequest));
  }
  return batches;
}

/**
 * Sends every batch concurrently (the pool bounds what is in flight) and reports each sample. A
 * batch the server refuses as a whole for its content (400/413/422: one prompt too long) is split
 * in two until the refused jobs are alone; only they fail, with the server's words.
 */
export async function sendBatches(
  batches: readonly number[][],
  send: (jobs: number[], signal: AbortSignal) => Promise<Generated[][]>,
  handlers: SampleHandlers,
  signal?: AbortSignal,
): Promise<void> {
  const attempt = async (jobs: number[], sig: AbortSignal): Promise<void> => {
    let results: Generated[][];
    try {
      results = await send(jobs, sig);
    } catch (error) {
      if (!isSequenceRefusal(error)) throw error;
      if (jobs.length === 1) {
        handlers.onJobError(jobs[0] as number, error as Error);
        return;
      }
      const mid = Math.ceil(jobs.length / 2);
      await Promise.all([attempt(jobs.slice(0, mid), sig), attempt(jobs.slice(mid), sig)]);
      return;
    }
    jobs.forEach((job, p) => results[p]!.forEach((generated, offset) => handlers.onSample(job, offset, generated)));
  };
  await runAll(batches.length, (b, sig) => attempt([...(batches[b] as number[])], sig), signal);
}
