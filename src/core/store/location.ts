import { dirname, join } from 'node:path';

/** Scores live in `.sift/scores.jsonl` beside the dataset, so a team can commit and share them. */
export function defaultStorePath(datasetPath: string): string {
  return join(dirname(datasetPath), '.sift', 'scores.jsonl');
}
