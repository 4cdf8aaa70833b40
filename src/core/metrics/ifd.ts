import type { MetricResult, RatioVariant, SpanLoss } from './types';

interface RatioNames {
  /** What is scored, for "empty ..." reasons. */
  span: string;
  conditioned: string;
  direct: string;
}

/**
 * cond/direct as a perplexity ratio exp(Lc - Ld) or a loss ratio Lc / Ld (METHODS §2.1: the two are
 * different metrics whose rankings disagree, §8.2 #1). Unscorable inputs give null with a reason,
 * never 0: the reference scripts' 0 for failures passes "< 1" filters and wins argmins (§3.3, §4.2).
 */
function ratio(conditioned: SpanLoss, direct: SpanLoss, variant: RatioVariant, names: RatioNames): MetricResult {
  if (conditioned.n <= 0 && direct.n <= 0 && !conditioned.unscorable) return { value: null, reason: `empty ${names.span}: no tokens to score` };
  if (conditioned.n <= 0) {
    // Scores stored before reasons were kept have none: say what the two possible causes are.
    const why = conditioned.unscorable ?? `empty ${names.span}, or the prompt fills the context`;
    return { value: null, reason: `no ${names.span} tokens scored for ${names.conditioned}: ${why}` };
  }
  if (direct.n <= 0) {
    return { value: null, reason: `no ${names.span} tokens scored for ${names.direct}${direct.unscorable ? `: ${direct.unscorable}` : ''}` };
  }
  if (!Number.isFinite(conditioned.mean)) {
    return { value: null, reason: `${names.conditioned} is not finite (${String(conditioned.mean)})` };
  }
  if (!Number.isFinite(direct.mean)) return { value: null, reason: `${names.direct} is not finite (${String(direct.mean)})` };
  if (variant === 'loss') {
    // §8.3: a zero direct loss makes the loss ratio ±Infinity or NaN; exclude rather than rank it.
    if (direct.mean === 0) return { value: null, reason: `${names.direct} = 0: the loss ratio is undefined (division by zero)` };
    return { value: conditioned.mean / direct.mean };
  }
  const value = Math.exp(conditioned.mean - direct.mean);
  if (!Number.isFinite(value)) return { value: null, reason: `perplexity ratio overflows (${names.conditioned} - ${names.direct} too large)` };
  return { value };
}

/**
 * IFD(x, y): `ppl` = ppl(y|x)/ppl(y) = exp(L(y|x) - L(y)) (Superfiltering, SRT Eq. 3; the default);
 * `loss` = L(y|x)/L(y) (Cherry v1, Eq. 5). METHODS §2.1. IFD >= 1 means the instruction does not help.
 */
export function ifd(yGivenX: SpanLoss, y: SpanLoss, variant: RatioVariant = 'ppl'): MetricResult {
  return ratio(yGivenX, y, variant, { span: 'response', conditioned: 'L(y|x)', direct: 'L(y)' });
}

/**
 * r-IFD(x | y) = ppl(x|y')/ppl(x) = exp(L(x|y') - L(x)) (SRT Eq. 8, METHODS §4.1), where y' is the
 * reverse prompt built from the response; `loss` gives the loss ratio the SRT repo also stores
 * (`rifd_loss`, §4.2). Lower means the response makes the instruction easier to predict.
 */
export function rifd(xGivenY: SpanLoss, x: SpanLoss, variant: RatioVariant = 'ppl'): MetricResult {
  return ratio(xGivenY, x, variant, { span: 'instruction', conditioned: "L(x|y')", direct: 'L(x)' });
}
