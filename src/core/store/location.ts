import { dirname, join } from 'node:path';

/**
 * The store database lives in `.sift/sift.db` beside the dataset: scores and reflections of every
 * dataset in the folder, shared by every process that works on it (see database.ts).
 */
export function defaultStorePath(datasetPath: string): string {
  return join(dirname(datasetPath), '.sift', 'sift.db');
}
