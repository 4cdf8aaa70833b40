import { isScorable, parseFile } from '../dataset/parse';
import type { FormatSpec, ParsedRecord, Problem } from '../dataset/types';
import type { MetricSettings } from '../metrics/recordMetrics';
import type { ScoreStore } from '../store/scoreStore';
import type { ScoringConfig } from './plan';
import { toRecordScore, type RecordScore } from './recordScore';
import { scoreRecords, type RecordToScore, type RunStats, type ScoreRunOptions } from './scoreRecords';
import { inShard, type Shard } from '../dataset/shard';
import type { TokenScorer } from './types';

export interface FileRecordInfo {
  /** 0-based index among the file's non-blank lines (dataset order), or the shard's records with `shard`. */
  index: number;
  line: number;
}

export interface ScoreFileOptions {
  format?: FormatSpec;
  scorer: TokenScorer;
  store: ScoreStore;
  config: ScoringConfig;
  metricSettings: MetricSettings;
  methodVersion: string;
  signal?: AbortSignal;
  chunkTokens?: number;
  concurrency?: number | (() => number);
  /** A record that could not be read (invalid JSON, schema) — reported, not scored. */
  onInvalid: (info: FileRecordInfo, problems: Problem[]) => void;
  /** A scored record (any order). */
  onScore: (info: FileRecordInfo, score: RecordScore, record: ParsedRecord) => void;
  /** Only the records of this shard (see dataset/shard.ts); `index` then counts the shard's records. */
  shard?: Shard;
  /** Plan only: the requests go to this batch-file writer (see `scoreRecords`). */
  exporter?: ScoreRunOptions['exporter'];
  /** Given: use stored scores only, and pass here each record the store lacks (see `scoreRecords`). */
  onNotStored?: (info: FileRecordInfo) => void;
}

export interface ScoreFileStats extends RunStats {
  invalid: number;
}

/**
 * Streams a JSONL file through parsing, validation and scoring. Only records in flight are held in
 * memory, so files far larger than the editor can open are fine.
 */
export async function scoreFile(path: string, options: ScoreFileOptions): Promise<ScoreFileStats> {
  const inFlight = new Map<number, { info: FileRecordInfo; record: ParsedRecord }>();
  let invalid = 0;
  async function* records(): AsyncGenerator<RecordToScore> {
    let index = 0;
    for await (const record of parseFile(path, options.format, { signal: options.signal })) {
      if (record.blank || !inShard(record.text, options.shard)) continue;
      const info = { index: index++, line: record.line };
      if (!isScorable(record) || !record.pair) {
        invalid++;
        const errors = record.problems.filter((p) => p.severity === 'error');
        options.onInvalid(info, errors.length > 0 ? errors : record.problems);
        continue;
      }
      inFlight.set(info.index, { info, record });
      yield { id: info.index, pair: record.pair };
    }
  }
  const stats = await scoreRecords(records(), {
    scorer: options.scorer,
    store: options.store,
    config: options.config,
    methodVersion: options.methodVersion,
    signal: options.signal,
    chunkTokens: options.chunkTokens,
    concurrency: options.concurrency,
    ...(options.exporter ? { exporter: options.exporter } : {}),
    onNotStored: options.onNotStored
      ? (id) => {
          const entry = inFlight.get(id);
          inFlight.delete(id);
          if (entry) options.onNotStored!(entry.info);
        }
      : undefined,
    onResult: (result) => {
      const entry = inFlight.get(result.id);
      if (!entry) return;
      inFlight.delete(result.id);
      options.onScore(entry.info, toRecordScore(result, options.config.metrics, options.metricSettings), entry.record);
    },
  });
  return { ...stats, invalid };
}
