import type { TrainingPair } from '../dataset/types';
import { conversationBefore, directFrame, reverseFrame, type ChatDirectFrame, type ChatEndOfTurn, type ChatSpan } from '../metrics/chatSpans';
import { directResponsePrefix, instructionText, renderPrompt, renderReversePrompt } from '../metrics/templates';
import { meanNll } from '../metrics/nll';
import type { MetricName, RatioVariant, SpanLoss, TemplateName } from '../metrics/types';

/**
 * Where the context ends and the scored target begins.
 * - `clean` (default): context and target are tokenized separately and their ids concatenated
 *   after BOS, so the target's tokens are exactly tok(target) in every sequence it appears in, and
 *   the conditioned and direct losses average over the same token strings (METHODS §1.4). Every
 *   backend gets ids, so the boundary is the same everywhere.
 * - `faithful`: the reference scripts' rule (METHODS §1.2): tokenize context+target as one text and
 *   start scoring at len(BOS + tok(context)); a BPE merge across the boundary moves it.
 */
export const BOUNDARIES = ['clean', 'faithful'] as const;
export type Boundary = (typeof BOUNDARIES)[number];

export interface ScoringConfig {
  metrics: MetricName[];
  template: TemplateName;
  boundary: Boundary;
  ifdVariant: RatioVariant;
  /** `chat` template: whether the end-of-turn tokens are scored (default `exclude`). */
  chatEndOfTurn?: ChatEndOfTurn;
  /** `chat` template: the frame of the direct losses (default `empty-user`). */
  chatDirectFrame?: ChatDirectFrame;
}

export type SpanKind = 'yGivenX' | 'y' | 'xGivenY' | 'x' | 'xy';

/** Span losses each metric needs, in the order they are stored. */
export const METRIC_SPANS: Record<MetricName, SpanKind[]> = {
  ifd: ['yGivenX', 'y'],
  rifd: ['xGivenY', 'x'],
  ds: ['xy'],
};

/** What each span's context and target are, for reasons a span cannot be scored. */
const SPAN_TEXTS: Record<SpanKind, { context: string; target: string }> = {
  yGivenX: { context: 'the prompt', target: 'response' },
  y: { context: 'the response marker', target: 'response' },
  xGivenY: { context: 'the reverse prompt', target: 'instruction' },
  x: { context: 'the context', target: 'instruction' },
  xy: { context: 'the prompt', target: 'response' },
};

/** One sequence to score: BOS + context + target, with the loss taken over the target (or everything). */
export interface SpanRequest {
  kind: SpanKind;
  context: string;
  target: string;
  /** Score every token after BOS (DS weight) instead of the target only. */
  whole: boolean;
  /** The conditioned span whose fitted target length also bounds this direct span. */
  pairedWith?: SpanKind;
  /**
   * `chat` template: the conversation the target answers (`target` is the assistant turn's content);
   * `context` is then that conversation as JSON, for the store key.
   */
  chat?: ChatSpan;
}

/** The texts a metric's sequences are built from; they (with the config) make its store key. */
export function metricRequests(metric: MetricName, pair: TrainingPair, config: ScoringConfig): SpanRequest[] {
  if (config.template === 'chat') return chatMetricRequests(metric, pair, config.chatDirectFrame ?? 'empty-user');
  const template = config.template;
  const faithful = config.boundary === 'faithful';
  switch (metric) {
    case 'ifd': {
      const prompt = renderPrompt(template, pair);
      // Cherry v1 (loss variant, faithful) conditions the direct score on the literal response marker.
      const directContext = faithful && config.ifdVariant === 'loss' ? directResponsePrefix(template) : '';
      return [
        { kind: 'yGivenX', context: prompt, target: pair.response, whole: false },
        { kind: 'y', context: directContext, target: pair.response, whole: false, pairedWith: 'yGivenX' },
      ];
    }
    case 'rifd': {
      const x = instructionText(pair, { faithful });
      return [
        { kind: 'xGivenY', context: renderReversePrompt(template, pair.response), target: x, whole: false },
        { kind: 'x', context: '', target: x, whole: false, pairedWith: 'xGivenY' },
      ];
    }
    case 'ds':
      return [{ kind: 'xy', context: renderPrompt(template, pair), target: pair.response, whole: true }];
  }
}

/** The spans of the `chat` template (chatSpans.ts defines them). */
function chatMetricRequests(metric: MetricName, pair: TrainingPair, frame: ChatDirectFrame): SpanRequest[] {
  const request = (kind: SpanKind, span: ChatSpan, extra: Partial<SpanRequest> = {}): SpanRequest => ({
    kind,
    context: JSON.stringify(span.context),
    target: span.target,
    whole: false,
    chat: span,
    ...extra,
  });
  switch (metric) {
    case 'ifd':
      return [
        request('yGivenX', { context: conversationBefore(pair), target: pair.response }),
        request('y', { context: directFrame(frame), target: pair.response }, { pairedWith: 'yGivenX' }),
      ];
    case 'rifd': {
      const x = instructionText(pair);
      return [
        request('xGivenY', { context: reverseFrame(pair.response), target: x }),
        request('x', { context: directFrame(frame), target: x }, { pairedWith: 'xGivenY' }),
      ];
    }
    case 'ds':
      return [request('xy', { context: conversationBefore(pair), target: pair.response }, { whole: true })];
  }
}

/** A tokenized span request: the ids to evaluate and the positions [start, end) to average over. */
export interface PlannedSequence {
  ids: number[];
  start: number;
  end: number;
  truncated: boolean;
  /** How the sequence was built when it departs from the rule (the chat token-prefix fallback). */
  note?: string;
}

export type Tokens = (text: string) => number[];

/**
 * Builds the id sequence for a request. Sequences longer than the model context are cut on the
 * right (as the reference scripts do); a direct span is cut to the same number of target tokens as
 * its conditioned partner so both means cover the same tokens. Returns a reason string when the
 * span cannot be scored at all.
 */
export function planSequence(
  request: SpanRequest,
  tokens: Tokens,
  bosId: number | undefined,
  boundary: Boundary,
  maxContext: number,
  fittedTargetTokens?: number,
): PlannedSequence | string {
  const bos = bosId === undefined ? [] : [bosId];
  let ids: number[];
  let start: number;
  if (boundary === 'clean') {
    const context = tokens(request.context);
    ids = [...bos, ...context, ...tokens(request.target)];
    start = bos.length + context.length;
  } else {
    ids = [...bos, ...tokens(request.context + request.target)];
    start = bos.length + tokens(request.context).length;
  }
  return fitSequence(request, ids, start, bos.length > 0, maxContext, fittedTargetTokens);
}

/**
 * The common end of planning: scored positions from `start` (from 1 for a whole-sequence span),
 * cut to the model context and to the partner's fitted target length, or the reason nothing fits.
 */
export function fitSequence(
  request: SpanRequest,
  ids: number[],
  start: number,
  withBos: boolean,
  maxContext: number,
  fittedTargetTokens?: number,
): PlannedSequence | string {
  // Position 0 has no prediction: a model without BOS cannot score the first token of a bare target.
  if (request.whole || start < 1) start = 1;
  const texts = SPAN_TEXTS[request.kind];
  if (request.target.length === 0) return `empty ${texts.target}: no tokens to score`;
  if (start >= maxContext) {
    const what = withBos ? `${texts.context} alone is ${start} tokens (with BOS)` : `${texts.context} alone is ${start} tokens`;
    return `${what}; the model context is ${maxContext}, so no ${texts.target} token fits`;
  }
  let end = Math.min(ids.length, maxContext);
  if (fittedTargetTokens !== undefined) end = Math.min(end, start + fittedTargetTokens);
  const truncated = end < ids.length;
  if (end <= start) return `the ${texts.target} tokenizes to nothing: no tokens to score`;
  return { ids: ids.slice(0, end), start, end, truncated };
}

/**
 * More characters than the longest token of any vocabulary we know (those run to a few dozen
 * characters, the longest — runs of spaces or punctuation in code vocabularies — to about 128).
 */
const MAX_CHARS_PER_TOKEN = 256;
/** Tokens beyond the model context that a cut text still has, so it still reads as truncated. */
const TOKENS_PAST_CONTEXT = 64;

/**
 * The beginning of a text that is enough to plan its sequences, so a record of many megabytes costs
 * what a record that fills the context costs (tokenizing all of it held gigabytes of ids).
 * It cannot cut a text that would have fit: a text of more than (maxContext + 64) × 256 characters
 * has more than maxContext + 64 tokens, as no token spans 256 characters, so it is cut to the
 * context anyway. Nor can it change the tokens that are scored: at about 4 characters per token the
 * cut lies tens of thousands of tokens past the context, far from any merge it could change, and
 * the prefix still has more tokens than the context, so the sequence is marked truncated as before.
 */
export function scorablePrefix(text: string, maxContext: number): string {
  const budget = (maxContext + TOKENS_PAST_CONTEXT) * MAX_CHARS_PER_TOKEN;
  if (text.length <= budget) return text;
  // Never split a surrogate pair: half a character would tokenize as a replacement character.
  const code = text.charCodeAt(budget - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? budget - 1 : budget);
}

/** The loss over a planned sequence's scored positions. */
export function spanLoss(lp: Float64Array, sequence: PlannedSequence): SpanLoss {
  return meanNll(lp, sequence.start, sequence.end);
}
