import { METHOD_VERSION } from '../core/metrics';
import { computeRecordMetrics, type MetricSettings } from '../core/metrics/recordMetrics';
import type { MetricName } from '../core/metrics/types';
import { validSetMeanLoss } from '../core/scoring/validSet';
import type { SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import { errorMessage, type ServerLog } from './log';
import type { Progress } from './progress';
import type { Scorers, Stores } from './resources';
import type { Job } from './scheduler';
import { resolveSettingPath, scorerIdentity, scoringConfig, scoringIdentity } from './settings';

interface ValidState {
  value?: number;
  error?: string;
}

export interface ValidSetDeps {
  log: ServerLog;
  docs: ReadonlyMap<string, SiftDocument>;
  settingsFor(doc: SiftDocument): SiftSettings;
  /** The folder relative paths in settings are taken from, for this document. */
  folderOf(doc: SiftDocument): string | undefined;
  apiKey(): string | undefined;
  scorers(): Scorers;
  stores: Stores;
  progress: Progress;
  markDirty(doc: SiftDocument): void;
}

const NO_DS: ReadonlySet<MetricName> = new Set(['ds']);
const NONE: ReadonlySet<MetricName> = new Set();

/**
 * The DS weight's anchor: the mean loss of the valid set (`dsValidSet`), scored once per settings
 * that change it (the set, the scoring settings, the scorer), on the queue of the first job that
 * needs it. Documents whose settings name the same set share one result.
 */
export class ValidSet {
  private readonly known = new Map<string, ValidState>();

  constructor(private readonly deps: ValidSetDeps) {}

  /** Forgets every result (the scorer or the scoring settings changed). */
  reset(): void {
    this.known.clear();
  }

  metricSettings(doc: SiftDocument): MetricSettings {
    const settings = this.deps.settingsFor(doc);
    return { ifdVariant: settings.ifdVariant, dsRule: settings.dsRule, turnScore: settings.turnScore, validMeanLoss: this.state(doc)?.value };
  }

  /** Why DS has no value for this document, when its valid set could not be scored. */
  error(doc: SiftDocument): string | undefined {
    return this.state(doc)?.error;
  }

  /** DS is scored for this document and nothing is known about its valid set yet: a job must score it. */
  needsScoring(doc: SiftDocument): boolean {
    const state = this.state(doc);
    return scoringConfig(this.deps.settingsFor(doc)).metrics.includes('ds') && state?.value === undefined && state?.error === undefined;
  }

  /** DS when no record can have it (no valid-set mean yet): said once, in the status and hover, not per line. */
  unavailable(doc: SiftDocument): ReadonlySet<MetricName> {
    return this.state(doc)?.value === undefined ? NO_DS : NONE;
  }

  /** What the hover says about DS when it has no value. */
  hoverNote(doc: SiftDocument): string | undefined {
    const state = this.state(doc);
    return state?.error ?? (this.deps.settingsFor(doc).dsValidSet && state?.value === undefined ? 'the DS valid set is not scored yet' : undefined);
  }

  /** Scores the valid set for the job's document unless it is known; then every document's DS is computed again. */
  async ensure(job: Job): Promise<void> {
    const { log, scorers, stores } = this.deps;
    const settings = this.deps.settingsFor(job.doc);
    const identity = this.identity(job.doc);
    if (this.known.has(identity)) return;
    const path = resolveSettingPath(settings.dsValidSet, this.deps.folderOf(job.doc));
    this.deps.progress.reportJobStep(job, 0, 'scoring the DS valid set');
    try {
      const value = await scorers().with(async (scorer) => {
        const store = await stores.get(job.doc.path);
        const mean = await validSetMeanLoss(path, {
          scorer,
          store,
          config: scoringConfig(settings),
          dsRule: settings.dsRule,
          methodVersion: METHOD_VERSION,
          signal: job.signal,
        });
        await store.flush();
        return mean;
      });
      this.known.set(identity, { value });
      log.info(`DS valid set ${path}: mean loss ${value}`);
    } catch (error) {
      // A cancelled job, or a scorer that cannot start (the job fails with that): nothing is known about the valid set.
      if (job.signal.aborted || scorers().lastError !== undefined) throw error;
      this.known.set(identity, { error: errorMessage(error) });
      log.error(`DS valid set: ${errorMessage(error)}`);
      log.warnOnce(`valid:${errorMessage(error)}`, `Sift: DS weight is unavailable: ${errorMessage(error)}`);
    }
    for (const doc of this.deps.docs.values()) {
      const config = scoringConfig(this.deps.settingsFor(doc));
      const metricSettings = this.metricSettings(doc);
      for (const score of doc.scores.values()) {
        if (!score.error) score.metrics = computeRecordMetrics(score.losses, config.metrics, metricSettings);
      }
      doc.invalidateStats();
      this.deps.markDirty(doc);
    }
  }

  private state(doc: SiftDocument): ValidState | undefined {
    return this.known.get(this.identity(doc));
  }

  private identity(doc: SiftDocument): string {
    const settings = this.deps.settingsFor(doc);
    return JSON.stringify([scoringIdentity(settings), scorerIdentity(settings, this.deps.apiKey()), resolveSettingPath(settings.dsValidSet, this.deps.folderOf(doc))]);
  }
}
