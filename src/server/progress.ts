import type { CancellationToken, Connection, ProgressToken, WorkDoneProgressReporter, WorkDoneProgressServerReporter } from 'vscode-languageserver';
import { formatCount } from './presentation';
import type { ReportProgress } from './reflection';
import type { Job } from './scheduler';
import { errorMessage, type ServerLog } from './log';

/** A client that does not answer window/workDoneProgress/create in time gets no progress bar. */
const PROGRESS_CREATE_TIMEOUT_MS = 5000;

/** What a command handler gets besides its arguments: the request's cancellation and the client's progress token. */
export interface CommandContext {
  token?: CancellationToken;
  workDoneToken?: ProgressToken;
}

export interface CommandProgress {
  /** Aborted when the user cancels the request or the progress indicator. */
  signal: AbortSignal;
  report: ReportProgress;
  done(): void;
}

/** `$/progress` for scoring jobs (one cancellable indicator each) and for long commands. */
export class Progress {
  private readonly reporters = new Map<number, WorkDoneProgressServerReporter>();

  constructor(
    private readonly connection: Connection,
    /** The client supports server-created progress (window.workDoneProgress). */
    private readonly supported: () => boolean,
    private readonly log: ServerLog,
  ) {}

  /**
   * Progress for a long command: on the client's own token when it sent one (it cancels the
   * request), else a server-created, cancellable indicator when the client supports one.
   */
  async forCommand(title: string, ctx: CommandContext): Promise<CommandProgress> {
    const controller = new AbortController();
    const subscription = ctx.token?.onCancellationRequested(() => controller.abort());
    let reporter: WorkDoneProgressReporter | undefined;
    if (ctx.workDoneToken !== undefined) {
      reporter = this.connection.window.attachWorkDoneProgress(ctx.workDoneToken);
    } else if (this.supported()) {
      const created = await this.create();
      created?.token.onCancellationRequested(() => controller.abort());
      reporter = created;
    }
    reporter?.begin(title, 0, undefined, true);
    return {
      signal: controller.signal,
      report: (message, percentage) => (percentage === undefined ? reporter?.report(message) : reporter?.report(percentage, message)),
      done: () => {
        subscription?.dispose();
        reporter?.done();
      },
    };
  }

  /** A cancellable indicator for a scoring job, when the client supports one; `onCancel` runs when the user cancels it. */
  async beginJob(job: Job, title: string, onCancel: () => void): Promise<void> {
    const reporter = this.supported() ? await this.create() : undefined;
    if (!reporter) return;
    this.reporters.set(job.id, reporter);
    reporter.token.onCancellationRequested(onCancel);
    reporter.begin(title, 0, jobMessage(job), true);
  }

  /**
   * The job's count so far; `inBatch` counts the records of the running batch already delivered, so
   * the count moves with the colours rather than a batch (several records on a CPU) behind them.
   */
  reportJob(job: Job, inBatch = 0): void {
    const done = job.done + inBatch;
    this.reporters.get(job.id)?.report(job.total > 0 ? Math.floor((100 * done) / job.total) : 100, jobMessage(job, done));
  }

  /** A step of the job other than its records (the DS valid set). */
  reportJobStep(job: Job, percentage: number, message: string): void {
    this.reporters.get(job.id)?.report(percentage, message);
  }

  endJob(job: Job): void {
    const reporter = this.reporters.get(job.id);
    this.reporters.delete(job.id);
    reporter?.done();
  }

  private async create(): Promise<WorkDoneProgressServerReporter | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), PROGRESS_CREATE_TIMEOUT_MS)));
    try {
      return await Promise.race([this.connection.window.createWorkDoneProgress(), late]);
    } catch (error) {
      this.log.log(`no progress indicator: ${errorMessage(error)}`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

function jobMessage(job: Job, done = job.done): string {
  return `${formatCount(done)} / ${formatCount(job.total)} scored`;
}
