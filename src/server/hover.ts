import type { MetricName, SpanLoss } from '../core/metrics/types';
import { perplexity } from '../core/metrics/nll';
import type { RecordScore } from '../core/scoring/recordScore';
import type { SpanKind } from '../core/scoring/plan';
import { Commands, OVERVIEW_COMMAND, type SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import { candidateVotes, voteHover, voteLegend } from './candidateVotes';
import { turnsHover } from './hoverTurns';
import { formatCount, legendText, METRIC_LABELS, ordinal, UNVERIFIED_REASON } from './presentation';

export interface HoverContext {
  settings: SiftSettings;
  /** Metrics being scored (DS only with a valid set). */
  scored: readonly MetricName[];
  modelId: string | undefined;
  endpoint: string | undefined;
  /** Why DS has no value for any record, when that is a file-wide condition. */
  dsNote: string | undefined;
  /**
   * The client renders `command:` links in hovers (it said so in initializationOptions.commandLinks,
   * as the VS Code extension does). Other editors show them as raw URL-encoded text, so they get a
   * pointer to the code actions, which carry the same commands.
   */
  commandLinks: boolean;
  /** The workspace is trusted; when not, scores this installation did not compute are marked unverified. */
  trusted: boolean;
}

const SPANS: Record<MetricName, { kind: SpanKind; name: string }[]> = {
  ifd: [
    { kind: 'yGivenX', name: 'L(y|x)' },
    { kind: 'y', name: 'L(y)' },
  ],
  rifd: [
    { kind: 'xGivenY', name: "L(x|y')" },
    { kind: 'x', name: 'L(x)' },
  ],
  ds: [{ kind: 'xy', name: 'L(x,y)' }],
};

const FORMULA: Record<MetricName, (s: SiftSettings) => string> = {
  ifd: (s) => (s.ifdVariant === 'ppl' ? 'ppl(y|x) / ppl(y)' : 'L(y|x) / L(y)'),
  rifd: (s) => (s.ifdVariant === 'ppl' ? "ppl(x|y') / ppl(x)" : "L(x|y') / L(x)"),
  ds: (s) => `valid-set loss vs. L(x,y), ${s.dsRule} rule`,
};

/** Markdown for a record line: every metric with the losses it came from, its rank in the file, where it came from, and actions. */
export function recordHover(doc: SiftDocument, index: number, ctx: HoverContext): string | undefined {
  const line = doc.records.line(index);
  if (!line || line.blank) return undefined;
  const parts: string[] = [];
  const links: string[] = [];
  const uriArg = (args: unknown[]): string => encodeURIComponent(JSON.stringify(args));
  const scoreNow = `[Score now](command:${Commands.scoreLines}?${uriArg([doc.uri, index, index])} "Score this record")`;
  const drop = `[Drop record](command:${Commands.dropRecord}?${uriArg([doc.uri, index, doc.version])} "Delete this line")`;
  const reflect = `[Reflect](command:${Commands.reflect}?${uriArg([doc.uri, index, 'selective', doc.version])} "Selective reflection: the teacher rewrites, the student decides")`;
  if (!line.scorable) {
    // Invalid lines: their diagnostics say what is wrong; only the drop action is useful here.
    parts.push(line.problems.some((p) => p.severity === 'error') ? '**Sift** · this line is not a valid record (see the problems on it).' : '**Sift** · this record cannot be scored (see the problems on it).');
    links.push(drop);
    return [...parts, actions(links, ctx)].join('\n\n');
  }
  const vote = candidateVotes(doc, ctx.settings.answerFormat)?.get(index);
  const voteText = vote ? voteHover(vote, ctx.settings.answerFormat) : undefined;
  const score = doc.scores.get(line.text);
  const failure = doc.failures.get(line.text);
  if (!score) {
    if (doc.pending.has(line.text)) parts.push('**Sift** · scoring this record… (queued or in progress)');
    else if (doc.waiting.has(line.text)) parts.push('**Sift** · waiting for the scoring endpoint, which did not answer: this record is scored as soon as it answers again.');
    else if (failure !== undefined) parts.push(`**Sift** · this record could not be scored: ${escape(failure)}`);
    else parts.push('**Sift** · not scored yet.');
    if (voteText) parts.push(voteText, voteLegend());
    if (!doc.pending.has(line.text)) links.push(scoreNow);
    links.push(reflect, drop);
    return [...parts, actions(links, ctx)].join('\n\n');
  }
  parts.push(`**Sift** · line ${index + 1}`);
  if (voteText) parts.push(voteText);
  for (const metric of ctx.settings.metrics) parts.push(metricSection(doc, metric, score, ctx));
  parts.push(...turnsHover(score, ctx.settings));
  parts.push(provenance(score, ctx));
  parts.push(legendText(ctx.settings, voteText ? voteLegend() : undefined));
  links.push(reflect, drop);
  links.push(`[Dataset overview](command:${OVERVIEW_COMMAND}?${uriArg([doc.uri])} "Histograms, the selection rules and what they keep")`);
  parts.push(actions(links, ctx));
  return parts.join('\n\n');
}

/** The action links, or where to find the same actions in an editor that does not render command links. */
function actions(links: string[], ctx: HoverContext): string {
  if (ctx.commandLinks) return links.join(' · ');
  return '_Score, reflect or drop this record: code actions on this line._';
}

function metricSection(doc: SiftDocument, metric: MetricName, score: RecordScore, ctx: HoverContext): string {
  const label = METRIC_LABELS[metric];
  const result = score.metrics[metric];
  if (metric === 'ds' && !ctx.scored.includes('ds')) {
    return `**${label}** — no value: set a DS valid set (\`dsValidSet\`) to compute DS weight.`;
  }
  if (!result || result.value === null) {
    const reason = metric === 'ds' && ctx.dsNote ? ctx.dsNote : result?.reason ?? 'not computed';
    return `**${label}** — no value: ${escape(reason)}`;
  }
  const values = doc.values(metric);
  const p = values.percentile(result.value);
  const rank = Number.isFinite(p) ? ` · ${ordinal(p)} percentile of ${formatCount(values.size)} scored records in this file` : '';
  const losses = SPANS[metric]
    .map(({ kind, name }) => lossText(name, score.losses[kind]))
    .join('; ');
  return `**${label} ${result.value.toFixed(4)}** = ${FORMULA[metric](ctx.settings)}${rank}  \n${losses}`;
}

function lossText(name: string, loss: SpanLoss | undefined): string {
  if (!loss) return `${name}: not computed`;
  if (loss.n === 0 || !Number.isFinite(loss.mean)) return `${name}: no tokens scored`;
  return `${name} = ${loss.mean.toFixed(4)} (ppl ${perplexity(loss).toFixed(3)}) over ${formatCount(loss.n)} token${loss.n === 1 ? '' : 's'}`;
}

function provenance(score: RecordScore, ctx: HoverContext): string {
  const s = ctx.settings;
  const bits = [
    `model ${code(ctx.modelId ?? 'unknown')}`,
    `endpoint ${code(ctx.endpoint ?? 'unknown')}`,
    `template ${code(s.template)}`,
    `boundary ${code(s.boundary)}`,
    `IFD variant ${code(s.ifdVariant)}`,
  ];
  const when = score.at > 0 ? `computed ${new Date(score.at).toISOString()}` : 'computed at an unknown time';
  const extra = [
    score.cached ? 'from the score store' : '',
    score.foreign && !ctx.trusted ? `**unverified**: ${UNVERIFIED_REASON}` : '',
    score.truncated ? 'cut to fit the model context' : '',
  ].filter(Boolean);
  return `${bits.join(' · ')}  \n${when}${extra.length > 0 ? ` (${extra.join('; ')})` : ''}`;
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

/** Dataset text and error messages are shown as text, not markdown. */
function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+!<>|~-]/g, (c) => `\\${c}`);
}
