/** Mean negative log-likelihood over `n` scored tokens (nats/token). `mean` is NaN when n = 0. */
export interface SpanLoss {
  mean: number;
  n: number;
  /** Why no token was scored (n = 0), when the text itself is the cause, with the token counts. */
  unscorable?: string;
}

/**
 * The losses a record's metrics come from (METHODS.md notation):
 * - yGivenX: L(y | template(x)), response tokens after BOS + template(x)
 * - y:       L(y), response tokens after BOS alone
 * - xGivenY: L(x | y'), instruction tokens after BOS + reverse prompt built from y
 * - x:       L(x), instruction tokens after BOS alone
 * - xy:      mean NLL of every token of template(x) + y after BOS (DS weight)
 */
export interface RecordLosses {
  yGivenX?: SpanLoss;
  y?: SpanLoss;
  xGivenY?: SpanLoss;
  x?: SpanLoss;
  xy?: SpanLoss;
}

/** `ppl`: ppl(y|x)/ppl(y) = exp(L(y|x) - L(y)) (Superfiltering / SRT, default). `loss`: L(y|x)/L(y) (Cherry v1). */
export const RATIO_VARIANTS = ['ppl', 'loss'] as const;
export type RatioVariant = (typeof RATIO_VARIANTS)[number];

/** A metric value, or null with the reason the record could not be scored (never 0 for "unknown"). */
export type MetricResult = { value: number; reason?: undefined } | { value: null; reason: string };

/** DS weight rules: `paper` = IWSI Eqs. 3-5; `repo` = the released code's clip [0,2] / cap 5 / strict threshold. */
export const DS_RULES = ['paper', 'repo'] as const;
export type DsRule = (typeof DS_RULES)[number];

/**
 * How a multi-turn record's score comes from its assistant turns' scores: `last` (default) is the
 * last answer given the whole conversation, what single-pair tools score; `mean` and `min` look at
 * every answer (`min`: a conversation is as easy to follow as its easiest answer).
 */
export const TURN_SCORES = ['last', 'mean', 'min'] as const;
export type TurnScore = (typeof TURN_SCORES)[number];

export const METRIC_NAMES = ['ifd', 'rifd', 'ds'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Templates Sift renders itself, as text (METHODS §2.3). */
export const TEXT_TEMPLATE_NAMES = ['alpaca', 'vicuna', 'wizardlm', 'plain'] as const;
export type TextTemplateName = (typeof TEXT_TEMPLATE_NAMES)[number];

/**
 * `chat`: the student model's own chat template, rendered by the backend (GGUF metadata locally,
 * the server's template through vLLM's `/tokenize`); see chatSpans.ts for the spans it scores.
 */
export const TEMPLATE_NAMES = [...TEXT_TEMPLATE_NAMES, 'chat'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/**
 * A score as the selection and summary helpers accept it: a number, `null`/`undefined` (not scored),
 * or a MetricResult straight from `ifd`/`rifd`/`dsWeight` (its reason then explains a null).
 * Non-finite numbers (NaN, ±Infinity) count as not scored (METHODS §8.3).
 */
export type Score = number | null | undefined | MetricResult;
