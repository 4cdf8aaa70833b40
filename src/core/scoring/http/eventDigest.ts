import type { HttpEvent } from './pool';

/** How often a failure that keeps repeating is reported again with its count. */
const REPEAT_REPORT_MS = 30_000;

interface FailureGroup {
  text: string;
  /** Failed attempts seen. */
  count: number;
  /** Failed attempts included in the last line written. */
  reported: number;
  reportedAt: number;
  url: string;
}

/**
 * Turns the HTTP pool's events into few lines: an endpoint that does not answer fails every attempt
 * the same way, and one line per attempt (plus one per "endpoint down") buries the message. The
 * first failure of a kind is written at once; repeats are counted and written as one line with the
 * count when the call gives up, the endpoint answers again, the digest is flushed, or every 30 s.
 */
export class HttpEventDigest {
  private readonly groups = new Map<string, FailureGroup>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(event: HttpEvent): void {
    switch (event.type) {
      case 'endpoint-down':
        return; // the retry or gave-up event of the same attempt reports it
      case 'endpoint-up':
        for (const group of this.groups.values()) if (group.url === event.url) this.report(group);
        this.write(`${event.url}: answering again`);
        return;
      case 'retry': {
        const group = this.failure(event.url, `${failureKind(event.kind, event.status)}: ${event.message}`);
        if (group.count === 1) {
          group.reported = 1;
          group.reportedAt = this.now();
          this.write(`${group.text}; retrying (up to ${event.maxAttempts} attempts)`);
        } else if (this.now() - group.reportedAt >= REPEAT_REPORT_MS) {
          this.report(group);
        }
        return;
      }
      case 'gave-up':
        this.report(this.failure(event.url, `${failureKind(event.kind, event.status)}: ${event.message}`));
        return;
      case 'permanent-error': {
        const group = this.failure(event.url, `HTTP ${event.status}: ${event.message}`);
        if (group.count === 1) {
          group.reported = 1;
          group.reportedAt = this.now();
          this.write(`${group.text} (not retried)`);
        }
        return;
      }
    }
  }

  /** Writes the counts not written yet (call when the run ends). */
  flush(): void {
    for (const group of this.groups.values()) this.report(group);
  }

  private failure(url: string, what: string): FailureGroup {
    const key = `${url}\n${what}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { text: `${url}: ${what}`, count: 0, reported: 0, reportedAt: 0, url };
      this.groups.set(key, group);
    }
    group.count++;
    return group;
  }

  private report(group: FailureGroup): void {
    if (group.count === group.reported) return;
    if (group.count > 1) this.write(`${group.text}: ${group.count} failed attempts`);
    group.reported = group.count;
    group.reportedAt = this.now();
  }
}

function failureKind(kind: string, status: number | undefined): string {
  switch (kind) {
    case 'connection':
      return 'cannot connect';
    case 'timeout':
      return 'timed out';
    case 'status':
      return `HTTP ${status ?? '?'}`;
    default:
      return 'malformed response';
  }
}
