import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileTeacherBatchJobs, jobsOf, linesOf, type TeacherBatchEvent } from '../../core/reflect';
import type { PendingTeacherBatch } from '../../protocol';

/** A teacher batch's progress as the editor's notification shows it. */
export function batchProgress(event: TeacherBatchEvent): { message: string; percentage?: number } {
  switch (event.type) {
    case 'resumed':
      return { message: `picking up teacher batch ${event.batchId}${event.status ? ` (${event.status.replace('_', ' ')})` : ''}` };
    case 'submitted':
      return { message: `teacher batch ${event.batchId} submitted: ${event.requests} request(s); results within 24 h`, percentage: 0 };
    case 'status': {
      const c = event.counts;
      const done = c && c.total > 0 ? `: ${c.completed + c.failed} / ${c.total} done` : '';
      return { message: `teacher batch ${event.batchId}: ${event.status.replace('_', ' ')}${done}`, percentage: c && c.total > 0 ? Math.floor((100 * (c.completed + c.failed)) / c.total) : undefined };
    }
    case 'downloaded':
      return { message: `teacher batch ${event.batchId}: ${event.answered} answer(s)${event.failed > 0 ? `, ${event.failed} failed` : ''}; the student decides`, percentage: 100 };
    case 'problem':
      return { message: event.message };
  }
}

/**
 * The runs a job file records, one per dataset and teacher (the latest batch's mode and records),
 * for a client that picks them up when it starts.
 */
export async function pendingTeacherBatches(jobsFile: string, teacher: { endpoint: string; model: string } | undefined): Promise<PendingTeacherBatch[]> {
  const jobs = new FileTeacherBatchJobs(jobsFile);
  const all = await jobs.list();
  const runs = new Map<string, PendingTeacherBatch>();
  for (const dataset of new Set(all.map((j) => j.dataset))) {
    for (const job of await jobsOf(jobs, dataset)) {
      const key = JSON.stringify([dataset, job.teacher.endpoint, job.teacher.model]);
      const run: PendingTeacherBatch = runs.get(key) ?? {
        uri: pathToFileURL(join(dirname(dirname(jobsFile)), dataset)).href,
        mode: job.mode,
        lines: [],
        batchIds: [],
        teacher: { ...job.teacher },
        current: teacher !== undefined && teacher.endpoint === job.teacher.endpoint && teacher.model === job.teacher.model,
        submittedAt: job.submittedAt,
      };
      // The latest batch says what the run is now.
      run.mode = job.mode;
      run.lines = linesOf(job.lines).map((line) => line - 1);
      if (job.batchId) run.batchIds.push(job.batchId);
      run.status = job.status;
      run.counts = job.counts;
      runs.set(key, run);
    }
  }
  return [...runs.values()];
}
