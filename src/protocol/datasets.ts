/**
 * Which documents Sift serves, and how large a document an editor hands to extensions: one rule
 * each, read by the server (what it parses and scores) and the VS Code client (when it starts the
 * server, which files it warns about). No editor imports: any side can use it.
 */

/** Language ids of JSON Lines documents (VS Code's own `jsonl`, and the names other editors use). */
export const DATASET_LANGUAGE_IDS: readonly string[] = ['jsonl', 'ndjson', 'jsonlines'];

/** File extensions of datasets, without the dot, any case. */
export const DATASET_EXTENSIONS: readonly string[] = ['jsonl', 'ndjson'];

const DATASET_PATH = new RegExp(`\\.(${DATASET_EXTENSIONS.join('|')})$`, 'i');

/** A path or URI of a dataset: `.jsonl` or `.ndjson`, any case. */
export function isDatasetPath(pathOrUri: string): boolean {
  return DATASET_PATH.test(pathOrUri);
}

/** A document Sift serves: a JSON Lines language id, or a dataset file name whatever its language. */
export function isDatasetDocument(document: { languageId: string; uri: string }): boolean {
  return DATASET_LANGUAGE_IDS.includes(document.languageId) || isDatasetPath(document.uri);
}

/**
 * The largest document Sift parses and scores in an editor: 50M characters, just under the size
 * VS Code stops handing to extensions at all (its `_MODEL_SYNC_LIMIT`, 50 * 1024 * 1024), so every
 * file the editor cannot show Sift's results for is over it, in any editor. The `sift` command line
 * covers larger files.
 */
export const MAX_DOCUMENT_CHARS = 50_000_000;
