import { Command, CommanderError, Option } from 'commander';
import packageJson from '../../package.json';
import { filterCommand } from './commands/filter';
import { selectCommand } from './commands/select';
import { splitCommand } from './commands/split';
import { voteCommand } from './commands/vote';
import { registerModel } from './commands/model';
import { registerReflect } from './commands/reflect';
import { reportCommand } from './commands/report';
import { registerSample } from './commands/sample';
import { scoreCommand } from './commands/score';
import { serveCommand } from './commands/serve';
import { statsCommand } from './commands/stats';
import { registerStore } from './commands/store';
import { SHARE_RULE } from '../core/metrics/share';
import { SCORING_SETTINGS as S } from '../protocol/settings';
import { CANDIDATE_INPUTS } from '../core/reasoning/readCandidates';
import { VOTE_WEIGHTS } from '../core/reasoning/scoreCandidates';
import { SELECT_RULES } from '../core/reasoning/selectCandidates';
import { WEIGHT_FORMS } from '../core/reasoning/vote';
import { FORMATS } from './settings';
import { EXIT_RUN_FAILED, EXIT_USAGE, UsageError, exitWith } from './usage';

/**
 * The scoring options: choices, defaults and ranges are the `sift.*` settings' own. `candidates`:
 * the reasoning commands, which decide their metrics and score single question/answer pairs, so the
 * dataset layout, metric list, IFD variant and multi-turn options do not apply.
 */
function addScoringOptions(command: Command, scope: 'dataset' | 'candidates' = 'dataset'): Command {
  const concurrency = S.concurrency;
  const dataset = scope === 'dataset';
  if (dataset) command.option('--metrics <list>', `comma-separated metrics: ${S.metrics.values.join(', ')}`, S.metrics.default.join(','));
  command
    .option('--valid <file>', 'DS weight valid set (JSONL in any supported format)')
    .addOption(new Option('--backend <name>', 'scoring backend (default: local, or vllm when --url is given)').choices(S.backend.values))
    .option('--model <name>', 'local backend model: a GGUF file, or a model pulled with `sift model pull` (its name, hf: URI or URL); default: the bundled TinyStories 260K')
    .option('--url <url...>', 'scoring endpoint base URL(s); several = data-parallel replicas')
    .option('--served-model <name>', 'model name on the endpoint (default: the first one it lists)')
    .addOption(new Option('--concurrency <n>', `requests in flight per endpoint (HTTP backends): 0 adapts it to each replica's latency, 1-${concurrency.maximum} fixes it`).default(String(concurrency.default)))
    .addOption(new Option('--vllm-mode <mode>', 'how log-probs are requested from vLLM: echo (completions with echo) or prompt_logprobs').choices(S.vllmMode.values).default(S.vllmMode.default))
    .addOption(new Option('--template <name>', 'prompt template').choices(S.template.values).default(S.template.default));
  if (dataset) {
    command
      .addOption(new Option('--format <name>', 'dataset format (default: detected)').choices(FORMATS))
      .option('--field-map <map>', 'other layouts: instruction=PATH,response=PATH[,input=PATH] with dotted paths, e.g. instruction=data.q,response=data.a');
  }
  command.addOption(new Option('--boundary <mode>', 'context/response token boundary').choices(S.boundary.values).default(S.boundary.default));
  if (dataset) command.addOption(new Option('--ifd-variant <v>', 'ppl: exp(L(y|x)-L(y)); loss: L(y|x)/L(y) (Cherry v1)').choices(S.ifdVariant.values).default(S.ifdVariant.default));
  command.addOption(new Option('--chat-end-of-turn <mode>', "chat template: score the turn's end-of-turn tokens too (include) or not").choices(S.chatEndOfTurn.values).default(S.chatEndOfTurn.default));
  if (dataset) {
    command
      .addOption(new Option('--chat-direct-frame <frame>', 'chat template: frame of L(y) and L(x): an empty user turn or none').choices(S.chatDirectFrame.values).default(S.chatDirectFrame.default))
      .addOption(new Option('--turn-score <how>', "multi-turn records: the record's score is the last turn's, or the mean or min over turns").choices(S.turnScore.values).default(S.turnScore.default));
  }
  return command
    .addOption(new Option('--ds-rule <rule>', 'DS weight rule: paper (IWSI Eqs. 3-5) or repo (released code)').choices(S.dsRule.values).default(S.dsRule.default))
    .option('--no-cache', 'bypass the score store (.sift/sift.db beside the dataset)')
    .option('--store <file>', 'score store database (default: .sift/sift.db beside the dataset)')
    .option('--threads <n>', 'CPU threads for the local backend (default: all cores)')
    .option('-q, --quiet', 'no progress output');
}

/** How the reasoning commands read a candidates file and its answers (docs/reasoning.md). */
function addCandidateOptions(command: Command): Command {
  return command
    .addOption(new Option('--input <layout>', 'candidates file layout (default: detected from the first line)').choices(CANDIDATE_INPUTS))
    .addOption(new Option('--answer-format <format>', "how final answers are read: numeric (GSM8K), choice (A-E), math (\\boxed, Hendrycks normalisation) or field (the file's own answer)").choices(S.answerFormat.values).default(S.answerFormat.default))
    .option('--iwsi-compat', "numeric/choice: IWSI's exact answer reading (sign dropped, decimals truncated, whole text searched)")
    .option('--tdg-compat', "math: TDG's exact reading (\\fbox and '\\boxed 5' unread, two missing answers count as equal)");
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

  addCandidateOptions(addScoringOptions(program.command('vote <candidates>').description('self-consistency vote per question over sampled candidates: majority, agreement, entropy, optional weighted vote; accuracy when gold is known'), 'candidates'))
    .option('--out <file>', 'write one JSON object per question (VOTES.jsonl)')
    .option('--stats <file>', 'write the summary figures as JSON')
    .addOption(new Option('--weight <score>', "also a weighted vote: by the student's probability of each candidate (logprob) or by 1/DS weight (ds, needs --valid)").choices(VOTE_WEIGHTS))
    .addOption(new Option('--weight-form <form>', "how a score s enters the weighted vote, as TDG's ASC.py: s, 1+s or 1+2s").choices(WEIGHT_FORMS).default('s'))
    .action(exitWith(voteCommand));

  addCandidateOptions(addScoringOptions(program.command('select <candidates>').description("IWSI training-data selection: self-consistent candidates, then the lowest-DS share; or the majority / entropy baselines"), 'candidates'))
    .requiredOption('--out <file>', 'where to write the kept candidates (CANDIDATES lines)')
    .addOption(new Option('--rule <rule>', 'iwsi (majority, then lowest DS), majority (LMSI) or entropy (Entropy-filter)').choices(SELECT_RULES).default('iwsi'))
    .option('--keep <share>', `iwsi: the share of majority candidates kept, lowest DS first; ${SHARE_RULE}`, '80%')
    .option('--entropy-max <u>', 'entropy: keep questions whose normalised answer entropy is at most u (0-1); also reported beside any rule')
    .option('--report <file>', 'write a JSON report: every decision, and the figures of the chosen rule and the baselines')
    .action(exitWith(selectCommand));

  addCandidateOptions(program.command('split <candidates>').description('positive and negative data against the gold answer (Turning Dust into Gold)'))
    .option('--gold <file>', 'JSONL of gold answers: question_id or question, and gold or answer (default: the candidates\' gold field)')
    .option('--gold-field <path>', "the gold answer is this field of each CANDIDATES line (dotted path)")
    .option('--out-positive <file>', 'candidates whose answer matches gold')
    .option('--out-negative <file>', 'candidates whose answer does not (or has none)')
    .option('--tdg <file>', "one line per question in TDG's layout: question, answer (gold), generated_answer (every candidate)")
    .option('--max-length <n>', "TDG's length cut: drop candidates with len(question + '\\n' + candidate) >= n characters (TDG: 1600, NCE: 1200)")
    .option('--report <file>', 'write per-question counts and the agreement with the source\'s is_correct labels as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(exitWith(splitCommand));

  registerReflect(addScoringOptions(program.command('reflect <file>')));

  program
    .command('serve')
    .description('serve a GGUF model over the subset of the vLLM API that scoring and sampling use, and OpenAI chat completions (a local teacher)')
    .option('--model <name>', 'GGUF file, or a model pulled with `sift model pull` (default: the bundled TinyStories 260K)')
    .option('--port <n>', 'port (0 = any free port)', '8000')
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--served-model <name>', 'name the model is served under (default: the file name without .gguf)')
    .option('--threads <n>', 'CPU threads (default: all cores)')
    .option('--api-key <key...>', 'require Authorization: Bearer <key> on every route but /health, as vLLM (default: $VLLM_API_KEY)')
    .option('--allow-host <name...>', 'accept these Host names too (e.g. behind a proxy); * accepts any')
    .action(exitWith(serveCommand));

  registerSample(program);
  registerModel(program);
  registerStore(program);
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
