/**
 * Every `sift.*` setting, defined once: type, default, range, choices (with their descriptions),
 * scope, whether a restricted (untrusted) workspace may set it, and its description. The settings
 * types, the defaults, the manifest's `contributes.configuration` (a unit test compares them; `npm
 * run manifest` rewrites it), the client's reader, the server's normalisation and the CLI's option
 * checks all come from here. Imported by the client, the server and the CLI: no editor, no I/O.
 *
 * Longer than our other files on purpose: it is one table, and the point of it is that every
 * setting is read in one place; split by group it would only send the reader between files.
 */

import { FORMAT_NAMES } from '../core/dataset/types';
import { DS_RULES, METRIC_NAMES, RATIO_VARIANTS, TEMPLATE_NAMES, TURN_SCORES } from '../core/metrics/types';
import { BACKEND_NAMES, DEFAULT_VLLM_MODE, VLLM_MODES } from '../core/scoring/backends';
import { BOUNDARIES } from '../core/scoring/plan';
import { CHAT_DIRECT_FRAMES, CHAT_END_OF_TURN } from '../core/metrics/chatSpans';
import { ANSWER_FORMATS } from '../core/reasoning/answerFormats';


/** The configuration section: every key below is `sift.<key>`. */
export const SECTION = 'sift';

/** `machine-overridable`: where the model and endpoints live, per machine; `resource`: per dataset folder. */
export type SettingScope = 'window' | 'resource' | 'machine-overridable';

interface Common {
  /** The key below the `sift` section, e.g. `backend` or `teacher.baseUrl`. */
  key: string;
  scope: SettingScope;
  /**
   * Points Sift at code or data outside the editor (an endpoint it sends the dataset to, a model
   * or file it loads): workspace values are ignored until the workspace is trusted.
   */
  restricted?: true;
  /** Position in the Settings editor. */
  order: number;
  markdownDescription: string;
}

export interface StringSetting extends Common {
  type: 'string';
  default: string;
}

export interface BooleanSetting extends Common {
  type: 'boolean';
  default: boolean;
}

export interface NumberSetting extends Common {
  type: 'number' | 'integer';
  default: number;
  minimum: number;
  maximum?: number;
}

export interface EnumSetting<T extends string = string> extends Common {
  type: 'enum';
  values: readonly T[];
  /** Shown beside each choice, in the order of `values`. */
  descriptions?: Readonly<Record<T, string>>;
  default: T;
}

export interface StringArraySetting extends Common {
  type: 'stringArray';
  default: readonly string[];
  /** JSON-schema format of each item. */
  format?: 'uri';
}

/** A list of distinct choices, in the user's order, never empty. */
export interface EnumArraySetting<T extends string = string> extends Common {
  type: 'enumArray';
  values: readonly T[];
  descriptions?: Readonly<Record<T, string>>;
  default: readonly T[];
}

export type SettingSpec = StringSetting | BooleanSetting | NumberSetting | EnumSetting | StringArraySetting | EnumArraySetting;

/** The value a setting holds once normalised. */
export type SettingValue<S> =
  S extends EnumSetting<infer T> ? T
  : S extends EnumArraySetting<infer T> ? T[]
  : S extends StringArraySetting ? string[]
  : S extends StringSetting ? string
  : S extends BooleanSetting ? boolean
  : S extends NumberSetting ? number
  : never;

function enumSetting<const T extends string, const K extends string>(
  values: readonly T[],
  spec: Omit<EnumSetting<T>, 'type' | 'values' | 'default' | 'key'> & { key: K; default: NoInfer<T> },
): EnumSetting<T> & { key: K } {
  return { type: 'enum', values, ...spec };
}

function enumArraySetting<const T extends string, const K extends string>(
  values: readonly T[],
  spec: Omit<EnumArraySetting<T>, 'type' | 'values' | 'default' | 'key'> & { key: K; default: readonly NoInfer<T>[] },
): EnumArraySetting<T> & { key: K } {
  return { type: 'enumArray', values, ...spec };
}

/** A group whose every `key` repeats its field's name (checked at compile time). */
function keyedByField<const G extends { [F in keyof G]: SettingSpec & { key: F } }>(group: G): G {
  return group;
}

const RESTRICTED_NOTE = 'Ignored from workspace settings in a restricted workspace.';

/**
 * The settings of scoring and display (`SiftSettings`): each field is `sift.<field>` (so the `sift`
 * section a generic LSP client sends maps straight onto the fields).
 */
export const SCORING_SETTINGS = keyedByField({
  backend: enumSetting(BACKEND_NAMES, {
    key: 'backend',
    default: 'local',
    scope: 'machine-overridable',
    restricted: true,
    order: 1,
    descriptions: {
      local: 'A GGUF model on this machine through llama.cpp (the bundled tiny model unless `#sift.modelPath#` is set). No server needed.',
      vllm: 'A vLLM server (or `sift serve`) at `#sift.endpointUrls#`: `/v1/completions` with prompt log-probabilities.',
      sglang: 'An SGLang server at `#sift.endpointUrls#`: `/generate` with input log-probabilities.',
      tgi: 'A Hugging Face TGI server at `#sift.endpointUrls#`: `/generate` with prefill details.',
    },
    markdownDescription: 'Where the student model that scores records runs. Ignored from workspace settings in a restricted (untrusted) workspace.',
  }),
  endpointUrls: {
    key: 'endpointUrls',
    type: 'stringArray',
    format: 'uri',
    default: [],
    scope: 'machine-overridable',
    restricted: true,
    order: 2,
    markdownDescription:
      'Base URLs of the scoring servers for the HTTP backends (`vllm`, `sglang`, `tgi`), e.g. `http://gpu-box:8000`. Several URLs are data-parallel replicas. The API key, if any, is set with **Sift: Set Scoring API Key** and kept in secret storage, never here. ' +
      RESTRICTED_NOTE,
  },
  servedModel: {
    key: 'servedModel',
    type: 'string',
    default: '',
    scope: 'machine-overridable',
    order: 3,
    markdownDescription: "Model name to request from the endpoint (vLLM `--served-model-name`, or a LoRA adapter name). Empty: the server's only model.",
  },
  modelPath: {
    key: 'modelPath',
    type: 'string',
    default: '',
    scope: 'machine-overridable',
    restricted: true,
    order: 4,
    markdownDescription:
      'Path of a GGUF model for the `local` backend, e.g. a 0.5B–1.5B instruct model (**Sift: Choose Student Model…** downloads a recommended one and sets this). Empty: the tiny model bundled with Sift (a demo, not a useful student). ' +
      RESTRICTED_NOTE,
  },
  vllmMode: enumSetting(VLLM_MODES, {
    key: 'vllmMode',
    default: DEFAULT_VLLM_MODE,
    scope: 'machine-overridable',
    order: 5,
    descriptions: {
      echo: '`/v1/completions` with `echo`, `logprobs` and `max_tokens: 0` (for servers without `prompt_logprobs`).',
      prompt_logprobs: "vLLM's `prompt_logprobs` extension (vLLM 0.6 or later): half the response size of `echo`, no detokenization of the prompt, and each log-prob keyed by the token id sent.",
    },
    markdownDescription: 'How log-probabilities are requested from a vLLM server (the `vllm` backend).',
  }),
  template: enumSetting(TEMPLATE_NAMES, {
    key: 'template',
    default: 'plain',
    scope: 'resource',
    order: 10,
    descriptions: {
      alpaca: 'The Alpaca prompt template.',
      vicuna: 'The Vicuna conversation template.',
      wizardlm: 'The WizardLM template.',
      plain: 'The instruction (and input) as plain text.',
      chat: "The student model's own chat template (a GGUF model's `tokenizer.chat_template`, a vLLM server's template); `plain` when the model has none.",
    },
    markdownDescription:
      'Prompt template that wraps the instruction before the response is scored. Use the template the student model will be fine-tuned with: `chat` for an instruct model trained on its own chat format.',
  }),
  format: enumSetting(['', ...FORMAT_NAMES], {
    key: 'format',
    default: '',
    scope: 'resource',
    order: 11,
    descriptions: {
      '': 'Detect from the records.',
      alpaca: '`instruction` / `input` / `output`.',
      sharegpt: '`conversations` with `from` / `value`.',
      messages: 'OpenAI `messages` with `role` / `content`.',
      'prompt-completion': '`prompt` / `completion`.',
      qa: '`question` / `answer` (GSM8K style, with candidate solutions).',
      candidates: 'Sampled solutions (`question_id` / `question` / `candidate` / `answer` / `sample_index`): the CANDIDATES file of `sift vote`, `select` and `split`.',
    },
    markdownDescription: 'Record format of the dataset. Empty: detected from the first records.',
  }),
  boundary: enumSetting(BOUNDARIES, {
    key: 'boundary',
    default: 'clean',
    scope: 'resource',
    order: 12,
    descriptions: {
      clean: 'Tokenize the prompt and the response separately and join the token ids: the response span is exact.',
      faithful: "Reproduce the reference scripts' boundary rule, to match published scores.",
    },
    markdownDescription: 'How the response span is found in the tokenized record.',
  }),
  ifdVariant: enumSetting(RATIO_VARIANTS, {
    key: 'ifdVariant',
    default: 'ppl',
    scope: 'resource',
    order: 13,
    descriptions: {
      ppl: 'Ratio of perplexities, ppl(y|x) / ppl(y) (Superfiltering).',
      loss: 'Ratio of mean losses, L(y|x) / L(y) (Cherry LLM v1).',
    },
    markdownDescription: 'How IFD (and r-IFD) compare the conditioned and unconditioned response losses.',
  }),
  metrics: enumArraySetting(METRIC_NAMES, {
    key: 'metrics',
    default: ['ifd', 'rifd'],
    scope: 'resource',
    order: 14,
    descriptions: {
      ifd: 'Instruction-following difficulty.',
      rifd: 'Reversed IFD.',
      ds: 'DS weight (needs `#sift.dsValidSet#`).',
    },
    markdownDescription: 'Metrics computed and shown for each record, in this order.',
  }),
  dsValidSet: {
    key: 'dsValidSet',
    type: 'string',
    default: '',
    scope: 'resource',
    restricted: true,
    order: 15,
    markdownDescription: 'Path of a small trusted JSONL set whose mean loss anchors the DS weight. Empty: DS is not computed. ' + RESTRICTED_NOTE,
  },
  dsRule: enumSetting(DS_RULES, {
    key: 'dsRule',
    default: 'paper',
    scope: 'resource',
    order: 16,
    descriptions: {
      paper: 'The DS weight as defined in the IWSI paper.',
      repo: "The released code's variant (clipping and threshold).",
    },
    markdownDescription: 'Which definition of the DS weight to use.',
  }),
  chatEndOfTurn: enumSetting(CHAT_END_OF_TURN, {
    key: 'chatEndOfTurn',
    default: 'exclude',
    scope: 'resource',
    order: 17,
    descriptions: {
      exclude: "Score the assistant turn's content only, as the IFD papers score the response.",
      include: 'Also score the tokens the template closes the turn with (`</s>`, `<|im_end|>`), as a trainer that learns to stop does.',
    },
    markdownDescription: 'With the `chat` template: whether the end-of-turn tokens after each answer are scored.',
  }),
  chatDirectFrame: enumSetting(CHAT_DIRECT_FRAMES, {
    key: 'chatDirectFrame',
    default: 'empty-user',
    scope: 'resource',
    order: 18,
    descriptions: {
      'empty-user': 'An empty user turn: the direct and conditioned renderings differ in the instruction text only.',
      'no-user': 'The answer alone in the chat frame, without a user turn (some templates refuse this).',
    },
    markdownDescription: 'With the `chat` template: the frame the direct losses L(y) and L(x) are scored in.',
  }),
  turnScore: enumSetting(TURN_SCORES, {
    key: 'turnScore',
    default: 'last',
    scope: 'resource',
    order: 19,
    descriptions: {
      last: "The last assistant turn's score, given the whole conversation before it.",
      mean: "The mean of every assistant turn's score.",
      min: 'The lowest assistant turn score.',
    },
    markdownDescription: "A multi-turn record's score (shown, filtered and sorted by): every assistant turn is scored given the conversation before it.",
  }),
  colorBy: enumSetting(['percentile', 'thresholds'], {
    key: 'colorBy',
    default: 'percentile',
    scope: 'resource',
    order: 20,
    descriptions: {
      percentile: 'Colour by rank within the file (fifths, best to worst).',
      thresholds: 'Colour by fixed cut points of the metric.',
    },
    markdownDescription: 'How records are coloured at the end of their line.',
  }),
  ifdWarnAt: {
    key: 'ifdWarnAt',
    type: 'number',
    minimum: 0,
    default: 1,
    scope: 'resource',
    order: 21,
    markdownDescription:
      'IFD at or above this means the instruction does not help the student predict the response: such records get the worst colour (and a problem, with `#sift.scoreDiagnostics#` on), and their labels show the digits that decide it.',
  },
  scoreDiagnostics: enumSetting(['off', 'hint', 'information'], {
    key: 'scoreDiagnostics',
    default: 'off',
    scope: 'resource',
    order: 23,
    descriptions: {
      off: 'Scores show only as colours, labels and in the hover; the Problems panel lists problems with the file.',
      hint: 'Also a hint (dotted underline, not in the Problems panel counts) on records with IFD ≥ `#sift.ifdWarnAt#` and records a metric cannot score.',
      information: 'Also an information problem on records with IFD ≥ `#sift.ifdWarnAt#` and records a metric cannot score.',
    },
    markdownDescription:
      'Whether scores also become diagnostics. A score is not a problem with the file, and on real data most records can have IFD ≥ 1, so by default they do not flood the Problems panel (which shows at most 1,000 per file).',
  }),
  labelPosition: enumSetting(['start', 'end'], {
    key: 'labelPosition',
    default: 'start',
    scope: 'resource',
    order: 24,
    descriptions: {
      start: 'Before the record, so it is readable on records longer than the window, with or without word wrap.',
      end: "After the record's last character (off-screen on long records unless scrolled).",
    },
    markdownDescription: 'Where the score label of a record is shown in the editor.',
  }),
  answerFormat: enumSetting(ANSWER_FORMATS, {
    key: 'answerFormat',
    default: 'numeric',
    scope: 'resource',
    order: 25,
    descriptions: {
      numeric: 'Numbers: a `#### N` line, "The answer is N", a final `A: N` line (GSM8K).',
      choice: 'An option A–E: "The answer is (B)".',
      math: 'The last `\\boxed{…}`, compared after the Hendrycks MATH normalisation.',
      field: "The file's own `answer` field, compared as it is.",
    },
    markdownDescription:
      'How the final answer of a sampled solution is read in a CANDIDATES file (format `candidates`), for the vote its hover shows. The command line takes the same choice as `--answer-format`.',
  }),
  sampleK: {
    key: 'sampleK',
    type: 'integer',
    minimum: 1,
    maximum: 1024,
    default: 15,
    scope: 'resource',
    order: 26,
    markdownDescription: 'Solutions per question that **Sample candidates for this question** draws from the student (IWSI: 15). The command line takes the same as `sift sample --k`.',
  },
  sampleTemperature: {
    key: 'sampleTemperature',
    type: 'number',
    minimum: 0,
    maximum: 10,
    default: 1.1,
    scope: 'resource',
    order: 27,
    markdownDescription: 'Sampling temperature of **Sample candidates for this question** (IWSI: 1.1; 0: greedy), as `sift sample --temperature`.',
  },
  sampleSeed: {
    key: 'sampleSeed',
    type: 'integer',
    minimum: 0,
    maximum: 2_000_000_000,
    default: 0,
    scope: 'resource',
    order: 28,
    markdownDescription: 'Sample i of a question is drawn with this seed + i, as `sift sample --seed`: the same seed and settings draw the same candidates again (and a re-run finds them in the sample store).',
  },
  sampleMaxTokens: {
    key: 'sampleMaxTokens',
    type: 'integer',
    minimum: 1,
    maximum: 1_000_000,
    default: 256,
    scope: 'resource',
    order: 29,
    markdownDescription: 'Longest sampled solution, in tokens, as `sift sample --max-tokens`.',
  },
  samplePrompt: {
    key: 'samplePrompt',
    type: 'string',
    default: 'gsm8k-8shot',
    scope: 'resource',
    order: 29.5,
    markdownDescription:
      'Few-shot prompt of **Sample candidates for this question**, as `sift sample --prompt`: a built-in (`gsm8k-8shot`, `iwsi-gsm8k`, `qa-0shot`, the short one for a small model), or a prompt file (relative paths from the dataset\'s folder).',
  },
  autoScoreOnOpen: {
    key: 'autoScoreOnOpen',
    type: 'boolean',
    default: true,
    scope: 'resource',
    order: 22,
    markdownDescription: 'Score a dataset in the background when it is opened. Off: use **Sift: Score File** or **Sift: Score Selection**.',
  },
  concurrency: {
    key: 'concurrency',
    type: 'integer',
    minimum: 0,
    maximum: 1024,
    // 0: adapted per replica (core/scoring/http/inFlightLimit.ts).
    default: 0,
    scope: 'machine-overridable',
    // A workspace could otherwise flood the user's endpoint (and bill the user's key) with requests.
    restricted: true,
    order: 30,
    markdownDescription:
      'Requests in flight per scoring endpoint (HTTP backends). `0` (the default): adapted to each replica\'s latency, from 2 to 64, so that a fast replica takes more requests at once than a slow one and each always has a little work waiting. A number fixes it. ' +
      RESTRICTED_NOTE,
  },
  threads: {
    key: 'threads',
    type: 'integer',
    minimum: 0,
    maximum: 1024,
    default: 0,
    scope: 'machine-overridable',
    order: 31,
    markdownDescription: 'CPU threads for the `local` backend. `0`: every available core but one, which is left to the editor (llama.cpp\'s threads wait for each other, so a busy core slows them all: on two busy cores the first score showed four times later with both). `sift` on the command line uses every core unless given `--threads`.',
  },
} as const);

/** The teacher and the selection rule of reflection (`ReflectionSettings`), under `sift.teacher.*` and `sift.reflection.*`. */
export const REFLECTION_SETTINGS = {
  baseUrl: {
    key: 'teacher.baseUrl',
    type: 'string',
    default: '',
    scope: 'machine-overridable',
    restricted: true,
    order: 50,
    markdownDescription:
      'Base URL of the teacher that rewrites records for reflection: any OpenAI-compatible chat endpoint, e.g. `https://api.openai.com/v1`, a vLLM or Ollama server, or `sift serve` (`http://127.0.0.1:8000/v1`). Empty: no teacher, and the reflection actions say what to set. The key, if the endpoint needs one, is set with **Sift: Set Teacher API Key** and kept in secret storage, never here. ' +
      RESTRICTED_NOTE,
  },
  model: {
    key: 'teacher.model',
    type: 'string',
    default: '',
    scope: 'machine-overridable',
    // The model decides what the user's teacher key is billed: a workspace must not pick it.
    restricted: true,
    order: 51,
    markdownDescription: 'Model name sent to the teacher endpoint, e.g. `gpt-4o-mini` or the `--served-model-name` of a vLLM server. Part of the reflection cache key. ' + RESTRICTED_NOTE,
  },
  structuredOutput: enumSetting(['auto', 'on', 'off'], {
    key: 'teacher.structuredOutput',
    default: 'auto',
    scope: 'machine-overridable',
    order: 52,
    descriptions: {
      auto: 'Ask for JSON-schema output (`response_format`) until the endpoint refuses it, then use delimited sections.',
      on: 'Always ask for JSON-schema output; an endpoint without it fails.',
      off: 'Always ask for delimited sections (for endpoints without structured output).',
    },
    markdownDescription:
      "How the teacher's rewrite is requested. Either way the output is validated, asked for once more when unusable, and otherwise falls back visibly to the original text.",
  }),
  maxConcurrency: {
    key: 'teacher.maxConcurrency',
    type: 'integer',
    minimum: 1,
    maximum: 64,
    default: 4,
    scope: 'machine-overridable',
    order: 53,
    markdownDescription:
      'Teacher calls in flight at once (and records reflected at once in a batch). Lower it for endpoints with tight rate limits; 429 answers are retried after their `Retry-After`.',
  },
  promptsFile: {
    key: 'teacher.promptsFile',
    type: 'string',
    default: '',
    scope: 'resource',
    restricted: true,
    order: 54,
    markdownDescription:
      'A JSON file overriding the teacher prompts (`instruction`, `response`, `responseWithInput`, each `{ "system", "user" }` with `{{instruction}}`, `{{input}}`, `{{response}}`, `{{format}}` placeholders), relative to the workspace folder. Empty: Sift\'s built-in prompts. ' +
      RESTRICTED_NOTE,
  },
  priceFile: {
    key: 'teacher.priceFile',
    type: 'string',
    default: '',
    scope: 'resource',
    restricted: true,
    order: 56,
    markdownDescription:
      'A JSON file of teacher prices for the cost shown before a reflection batch runs, relative to the workspace folder: `{ "models": { "NAME": { "input": 0.15, "output": 0.6, "batchDiscount": 0.5 } } }` in US$ per 1M prompt and completion tokens (`batchDiscount`: the Batch API\'s discount, 0.5 by default). Its models are added to Sift\'s own price table and replace its prices. Empty: Sift\'s table. ' +
      RESTRICTED_NOTE,
  },
  gateBothBelowOne: {
    key: 'reflection.gateBothBelowOne',
    type: 'boolean',
    default: false,
    scope: 'resource',
    order: 55,
    markdownDescription:
      "The released selection script's extra rule: keep a record only when the student chose the rewrite and the rewritten pair has IFD < 1 and r-IFD < 1; other records are marked as dropped. Off (the default): the paper's pairwise rule only (higher IFD, then lower r-IFD), and the reflection view shows when the pair kept fails IFD < 1 or r-IFD < 1 and what the filter would then do. Off by default because the gate drops the whole record, also an original that passes `IFD < 1`; with it off, dropping stays the filter's one job and a rewrite that crosses 1 can be rejected, keeping the original.",
  },
} as const satisfies Record<string, SettingSpec>;

/** Read by vscode-languageclient itself (the client id is `sift`), not by Sift's code; since its version 10 it traces only at the output channel's Trace log level. */
export const TRACE_SETTING = enumSetting(['off', 'messages', 'verbose'], {
  key: 'trace.server',
  default: 'off',
  scope: 'window',
  order: 40,
  markdownDescription:
    "How much of the traffic between VS Code and the Sift language server is logged to the **Sift** output channel while that channel's log level is **Trace** (**Developer: Set Log Level…**, or the gear in the Output panel): `verbose` adds each message's parameters and result to its name and timing (`off` and `messages`). At any other log level nothing is traced. API keys are redacted.",

});

type Values<G extends Record<string, SettingSpec>> = { -readonly [K in keyof G]: SettingValue<G[K]> };

/** Settings the client reads (per resource where scoped) and sends to the server. */
export type SiftSettings = Values<typeof SCORING_SETTINGS>;
/** No teacher is configured until `baseUrl` and `model` are set. */
export type ReflectionSettings = Values<typeof REFLECTION_SETTINGS>;
export type SettingKey = keyof SiftSettings;
export type ReflectionSettingField = keyof ReflectionSettings;

/** Every setting, in manifest order. */
export const ALL_SETTINGS: readonly SettingSpec[] = [...Object.values(SCORING_SETTINGS), ...Object.values(REFLECTION_SETTINGS), TRACE_SETTING];

function copy<T>(value: T): T {
  return (Array.isArray(value) ? [...value] : value) as T;
}

function defaultsOf<G extends Record<string, SettingSpec>>(group: G): Values<G> {
  return Object.fromEntries(Object.entries(group).map(([field, spec]) => [field, copy(spec.default)])) as Values<G>;
}

export const DEFAULT_SETTINGS: SiftSettings = defaultsOf(SCORING_SETTINGS);
export const DEFAULT_REFLECTION_SETTINGS: ReflectionSettings = defaultsOf(REFLECTION_SETTINGS);

/**
 * A value made valid for its setting: a value of the wrong type (a non-integer for an integer, an
 * unknown choice) becomes the default; a number outside the range is clamped to it; strings are
 * trimmed; lists lose unknown, blank and repeated entries (a list left empty becomes the default).
 * A single string is taken as a one-item list, as some LSP clients send it.
 */
export function normalizeValue<S extends SettingSpec>(spec: S, value: unknown): SettingValue<S>;
export function normalizeValue(spec: SettingSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'string':
      return typeof value === 'string' ? value.trim() : spec.default;
    case 'boolean':
      return typeof value === 'boolean' ? value : spec.default;
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return spec.default;
      if (spec.type === 'integer' && !Number.isInteger(value)) return spec.default;
      return Math.min(spec.maximum ?? Infinity, Math.max(spec.minimum, value));
    }
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value) ? value : spec.default;
    case 'stringArray': {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list)) return [...spec.default];
      return [...new Set(list.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter(Boolean))];
    }
    case 'enumArray': {
      if (!Array.isArray(value)) return [...spec.default];
      const valid = [...new Set(value.filter((v): v is string => typeof v === 'string' && spec.values.includes(v)))];
      return valid.length > 0 ? valid : [...spec.default];
    }
  }
}

/** Every field of a group read with `read` (by its spec) and normalised. */
export function normalizeGroup<G extends Record<string, SettingSpec>>(group: G, read: (spec: SettingSpec, field: string) => unknown): Values<G> {
  return Object.fromEntries(Object.entries(group).map(([field, spec]) => [field, normalizeValue(spec, read(spec, field))])) as Values<G>;
}

/** `sift.<key>` of every setting a restricted workspace may not set. */
export function restrictedConfigurations(): string[] {
  return ALL_SETTINGS.filter((spec) => spec.restricted).map((spec) => `${SECTION}.${spec.key}`);
}

/** The JSON-schema property VS Code's manifest declares for a setting. */
export function manifestProperty(spec: SettingSpec): Record<string, unknown> {
  const tail = { scope: spec.scope, order: spec.order };
  const enumDescriptions = (values: readonly string[], descriptions: Readonly<Record<string, string>> | undefined) =>
    descriptions ? { enumDescriptions: values.map((v) => descriptions[v]) } : {};
  switch (spec.type) {
    case 'string':
    case 'boolean':
      return { type: spec.type, default: spec.default, ...tail, markdownDescription: spec.markdownDescription };
    case 'number':
    case 'integer':
      return {
        type: spec.type,
        minimum: spec.minimum,
        ...(spec.maximum !== undefined ? { maximum: spec.maximum } : {}),
        default: spec.default,
        ...tail,
        markdownDescription: spec.markdownDescription,
      };
    case 'enum':
      return {
        type: 'string',
        enum: [...spec.values],
        default: spec.default,
        ...tail,
        ...enumDescriptions(spec.values, spec.descriptions),
        markdownDescription: spec.markdownDescription,
      };
    case 'stringArray':
      return {
        type: 'array',
        items: { type: 'string', ...(spec.format ? { format: spec.format } : {}) },
        default: [...spec.default],
        ...tail,
        markdownDescription: spec.markdownDescription,
      };
    case 'enumArray':
      return {
        type: 'array',
        items: { type: 'string', enum: [...spec.values], ...enumDescriptions(spec.values, spec.descriptions) },
        uniqueItems: true,
        minItems: 1,
        default: [...spec.default],
        ...tail,
        markdownDescription: spec.markdownDescription,
      };
  }
}

/** package.json's `contributes.configuration`. */
export function manifestConfiguration(): { title: string; properties: Record<string, Record<string, unknown>> } {
  return { title: 'Sift', properties: Object.fromEntries(ALL_SETTINGS.map((spec) => [`${SECTION}.${spec.key}`, manifestProperty(spec)])) };
}
