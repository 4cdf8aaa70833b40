import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { join } from 'node:path';
import { CATALOGUE, formatBytes } from '../../core/models/catalogue';
import { ChecksumMismatch, DownloadPaused, pullModel } from '../../core/models/pull';
import { defaultModelsDir, readManifest } from '../../core/models/store';
import { Interrupted, interruptible } from '../interrupt';
import { EXIT_OK, EXIT_RUN_FAILED, exitWith } from '../usage';

interface ModelFlags {
  dir?: string;
}

/** `sift model list` and `sift model pull NAME`. */
export function registerModel(program: Command): void {
  const model = program.command('model').description('the recommended student models: list them, download one (then pass its name to --model)');
  model
    .command('list')
    .description('the recommended models with their sizes, and every model pulled so far')
    .option('--dir <folder>', 'models folder (default: $SIFT_MODELS_DIR, else ~/.cache/sift/models)')
    .option('--json', 'one JSON document instead of a table')
    .action(exitWith(listCommand));
  model
    .command('pull <name>')
    .description('download a model by catalogue name, hf:user/repo/file.gguf or URL; resumes an interrupted download; checks the sha256')
    .option('--dir <folder>', 'models folder (default: $SIFT_MODELS_DIR, else ~/.cache/sift/models)')
    .option('--sha256 <hex>', 'expected sha256 of the file (default: the published one for catalogue models)')
    .option('-q, --quiet', 'no progress output')
    .action(exitWith(pullCommand));
}

async function listCommand(flags: ModelFlags & { json?: boolean }): Promise<number> {
  const dir = flags.dir ?? defaultModelsDir();
  const pulled = readManifest(dir);
  const pathOf = (source: string): string | null => {
    const entry = pulled.find((m) => m.source === source);
    return entry ? join(dir, entry.file) : null;
  };
  const recommended = CATALOGUE.map((m) => ({ name: m.name, title: m.title, uri: m.uri, bytes: m.bytes, sha256: m.sha256 ?? null, use: m.use, license: m.license, path: pathOf(m.uri) }));
  const others = pulled.filter((m) => !CATALOGUE.some((c) => c.uri === m.source)).map((m) => ({ source: m.source, bytes: m.bytes, sha256: m.sha256, path: join(dir, m.file) }));
  if (flags.json) {
    process.stdout.write(JSON.stringify({ dir, recommended, pulled: others }, null, 2) + '\n');
    return EXIT_OK;
  }
  const width = Math.max(...recommended.map((m) => m.name.length));
  const lines = recommended.map((m) => `  ${m.name.padEnd(width)}  ${formatBytes(m.bytes).padStart(7)}  ${m.path ? 'pulled  ' : '        '}  ${m.title}: ${m.use}`);
  const out = [`Recommended students (sift model pull NAME, then --model NAME):`, ...lines];
  if (others.length > 0) out.push('', 'Also pulled:', ...others.map((m) => `  ${m.source}  ${formatBytes(m.bytes)}`));
  out.push('', `Models folder: ${dir}`);
  process.stdout.write(out.join('\n') + '\n');
  return EXIT_OK;
}

async function pullCommand(name: string, flags: ModelFlags & { sha256?: string; quiet?: boolean }): Promise<number> {
  const dir = flags.dir ?? defaultModelsDir();
  const progress = new ByteProgress(name, Boolean(flags.quiet));
  if (!flags.quiet) process.stderr.write(`pulling ${name} into ${dir}\n`);
  try {
    const result = await interruptible(
      (signal) => pullModel({ name, dir, sha256: flags.sha256, signal, onProgress: (p) => progress.update(p.downloaded, p.total) }),
      () => 'download paused: what arrived is kept; run the same pull again to resume',
    );
    progress.stop();
    if (result instanceof Interrupted) return exitSoon(result.exitCode);
    if (!flags.quiet) {
      const how = result.reused ? 'already pulled, checksum verified' : `sha256 ${result.checksum === 'first download' ? 'recorded' : 'verified'}`;
      process.stderr.write(`${name}: ${formatBytes(result.bytes)}, ${how}\n`);
    }
    // stdout: the path alone, for scripts (`--model "$(sift model pull NAME)"`).
    process.stdout.write(`${result.path}\n`);
    return EXIT_OK;
  } catch (error) {
    progress.stop();
    if (error instanceof ChecksumMismatch || error instanceof DownloadPaused) {
      process.stderr.write(`sift: ${error.message}\n`);
      return exitSoon(EXIT_RUN_FAILED);
    }
    exitSoon(EXIT_RUN_FAILED);
    throw error;
  }
}

/**
 * A stopped or failed pull may leave the downloader's retry timers running (they take no signal):
 * exit once the exit code is set and the message written, rather than wait for them to give up.
 */
function exitSoon(code: number): number {
  setTimeout(() => process.exit(), 200).unref();
  return code;
}

/** Bytes on stderr: a bar on a terminal, otherwise a line every 10%. */
class ByteProgress {
  private bar: SingleBar | undefined;
  private lastDecile = -1;

  constructor(private readonly label: string, private readonly quiet: boolean) {}

  update(downloaded: number, total: number): void {
    if (this.quiet || total <= 0) return;
    if (process.stderr.isTTY) {
      if (!this.bar) {
        this.bar = new SingleBar({ format: `${this.label} {bar} {percentage}% | {done} / {size}`, stream: process.stderr, hideCursor: true });
        this.bar.start(total, 0, { done: formatBytes(0), size: formatBytes(total) });
      }
      this.bar.update(downloaded, { done: formatBytes(downloaded), size: formatBytes(total) });
      return;
    }
    const decile = Math.floor((downloaded / total) * 10);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      process.stderr.write(`${this.label}: ${formatBytes(downloaded)} / ${formatBytes(total)} (${decile * 10}%)\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
