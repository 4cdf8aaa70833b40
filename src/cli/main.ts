import { Command, CommanderError, Option } from 'commander';
import packageJson from '../../package.json';
import { filterCommand } from './commands/filter';
import { registerModel } from './commands/model';
import { registerReflect } from './commands/reflect';
import { reportCommand } from './commands/report';
import { scoreCommand } from './commands/score';
import { serveCommand } from './commands/serve';
import { statsCommand } from './commands/stats';
import { SHARE_RULE } from '../core/metrics/share';
import { SCORING_SETTINGS as S } from '../protocol/settings';
import { FORMATS } from './settings';
import { EXIT_RUN_FAILED, EXIT_USAGE, UsageError, exitWith } from './usage';

/** The scoring options: choices, defaults and ranges are the `sift.*` settings' own. */
function addScoringOptions(command: Command): Command {
  const concurrency = S.concurrency;
  return command
    .option('--metrics <list>', `comma-separated metrics: ${S.metrics.values.join(', ')}`, S.metrics.default.join(','))
    .option('--valid <file>', 'DS weight valid set (JSONL in any supported format)')
    .addOption(new Option('--backend <name>', 'scoring backend (default: local, or vllm when --url is given)').choices(S.backend.values))
    .option('--model <name>', 'local backend model: a GGUF file, or a model pulled with `sift model pull` (its name, hf: URI or URL); default: the bundled TinyStories 260K')
    .option('--url <url...>', 'scoring endpoint base URL(s); several = data-parallel replicas')
    .option('--served-model <name>', 'model name on the endpoint (default: the first one it lists)')
    .addOption(new Option('--concurrency <n>', `requests in flight per endpoint (HTTP backends), ${concurrency.minimum}-${concurrency.maximum}`).default(String(concurrency.default)))
    .addOption(new Option('--vllm-mode <mode>', 'how log-probs are requested from vLLM: echo (completions with echo) or prompt_logprobs').choices(S.vllmMode.values).default(S.vllmMode.default))
    .addOption(new Option('--template <name>', 'prompt template').choices(S.template.values).default(S.template.default))
    .addOption(new Option('--format <name>', 'dataset format (default: detected)').choices(FORMATS))
    .option('--field-map <map>', 'other layouts: instruction=PATH,response=PATH[,input=PATH] with dotted paths, e.g. instruction=data.q,response=data.a')
    .addOption(new Option('--boundary <mode>', 'context/response token boundary').choices(S.boundary.values).default(S.boundary.default))
    .addOption(new Option('--ifd-variant <v>', 'ppl: exp(L(y|x)-L(y)); loss: L(y|x)/L(y) (Cherry v1)').choices(S.ifdVariant.values).default(S.ifdVariant.default))
    .addOption(new Option('--chat-end-of-turn <mode>', "chat template: score the turn's end-of-turn tokens too (include) or not").choices(S.chatEndOfTurn.values).default(S.chatEndOfTurn.default))
    .addOption(new Option('--chat-direct-frame <frame>', 'chat template: frame of L(y) and L(x): an empty user turn or none').choices(S.chatDirectFrame.values).default(S.chatDirectFrame.default))
    .addOption(new Option('--turn-score <how>', "multi-turn records: the record's score is the last turn's, or the mean or min over turns").choices(S.turnScore.values).default(S.turnScore.default))
    .addOption(new Option('--ds-rule <rule>', 'DS weight rule: paper (IWSI Eqs. 3-5) or repo (released code)').choices(S.dsRule.values).default(S.dsRule.default))
    .option('--no-cache', 'bypass the score store (.sift/scores.jsonl beside the dataset)')
    .option('--store <file>', 'score store file (default: .sift/scores.jsonl beside the dataset)')
    .option('--threads <n>', 'CPU threads for the local backend (default: all cores)')
    .option('-q, --quiet', 'no progress output');
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('sift')
    .description('Score, filter and inspect instruction-tuning JSONL datasets with IFD, r-IFD and DS weight.')
    .version(packageJson.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addScoringOptions(program.command('score <file>').description('score every record; a summary table at the end'))
    .option('--out <file>', 'write one JSON object per record (dataset order) with scores, losses, token counts, errors')
    .option('--stats <file>', 'write run statistics as JSON (records, cached, evaluated tokens, seconds) for pipelines')
    .option('--shard <i/n>', 'score only part i of n (0-based) of the records, chosen by a stable hash of each line: n machines run i = 0..n-1')
    .option('--export-batch <file>', 'score nothing: write the scoring requests of every record the store lacks as an OpenAI batch file (vLLM /v1/completions bodies)')
    .option('--import-batch <file>', "read a batch runner's results of --export-batch into the score store, then score the records from the store")
    .action(exitWith(scoreCommand));

  addScoringOptions(program.command('filter <file>').description('keep records by score rules; kept lines are byte-identical'))
    .requiredOption('--out <file>', 'where to write the kept records')
    .option('--ifd-max <x>', 'drop records with IFD >= x (IFD >= 1: the instruction does not help the student)')
    .option('--rifd-max <x>', 'drop records with r-IFD >= x')
    .option('--top <share>', `keep the top share by IFD (highest first) of the records that pass the thresholds; ${SHARE_RULE}`)
    .option('--ds-keep <share>', `keep the share of records with the lowest DS weight; ${SHARE_RULE}`)
    .option('--self-consistent', 'question/answer data: keep only answers that agree with the majority answer of their question')
    .addOption(new Option('--ties <rule>', 'who wins a tie at the cut').choices(['earlier', 'later']).default('earlier'))
    .option('--report <file>', 'write a JSON report of every decision')
    .option('--cached-only', 'score nothing: filter by the scores in the store; records without one are dropped and counted')
    .action(exitWith(filterCommand));

  addScoringOptions(program.command('stats <file>').description('histograms of the scores in the terminal (scores what the store lacks)'))
    .option('--bins <n>', 'histogram bins', '20')
    .action(exitWith(statsCommand));

  addScoringOptions(program.command('report <file>').description("the editor's dataset overview as one self-contained HTML page (histograms, IFD vs r-IFD, counts, worst and best records)"))
    .requiredOption('--html <file>', 'where to write the page')
    .option('--ifd-max <x>', 'rule to draw and count, as in sift filter: drop IFD >= x')
    .option('--rifd-max <x>', 'as in sift filter: drop r-IFD >= x')
    .option('--top <share>', `as in sift filter: keep the top share by IFD; ${SHARE_RULE}`)
    .option('--ds-keep <share>', `as in sift filter: keep the lowest-DS share; ${SHARE_RULE}`)
    .option('--self-consistent', 'as in sift filter: keep answers that agree with their question\'s majority')
    .option('--rows <n>', 'records in the worst and best tables', '20')
    .option('--cached-only', 'score nothing: report the scores in the store; records without one are counted as not scored')
    .action(exitWith(reportCommand));

  registerReflect(addScoringOptions(program.command('reflect <file>')));

  program
    .command('serve')
    .description('serve a GGUF model over the subset of the vLLM API that scoring uses, and OpenAI chat completions (a local teacher)')
    .option('--model <name>', 'GGUF file, or a model pulled with `sift model pull` (default: the bundled TinyStories 260K)')
    .option('--port <n>', 'port (0 = any free port)', '8000')
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--served-model <name>', 'name the model is served under (default: the file name without .gguf)')
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--api-key <key...>', 'require Authorization: Bearer <key> on every route but /health, as vLLM (default: $VLLM_API_KEY)')
    .option('--allow-host <name...>', 'accept these Host names too (e.g. behind a proxy); * accepts any')
    .action(exitWith(serveCommand));

  registerModel(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version also end here, with exit code 0; commander already printed the message.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`sift: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`sift: ${message}\n`);
  if (process.env.SIFT_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
  return EXIT_RUN_FAILED;
}

if (require.main === module) void main(process.argv);
