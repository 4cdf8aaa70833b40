import { dirname, join } from 'node:path';

/** The store database's file name; a store of that name is a folder's store (see `StoreDatabase.openImporting`). */
export const STORE_FILE_NAME = 'sift.db';

/** The store of the datasets in `folder`: `.sift/sift.db` in it. */
export function folderStorePath(folder: string): string {
  return join(folder, '.sift', STORE_FILE_NAME);
}

/**
 * The store database lives in `.sift/sift.db` beside the dataset: scores and reflections of every
 * dataset in the folder, shared by every process that works on it (see database.ts).
 */
export function defaultStorePath(datasetPath: string): string {
  return folderStorePath(dirname(datasetPath));
}
