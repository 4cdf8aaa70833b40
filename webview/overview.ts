/**
 * The dataset overview: histograms of each metric, IFD against r-IFD, the rules drawn on them with
 * controls to move them, the counts and why records are dropped, and the worst and best records.
 * In VS Code it talks to its host (rules out, overviews in); in a `sift report` file the same code
 * draws the embedded overview with the controls disabled. Elements are made only through dom.ts,
 * so dataset text can only ever be text.
 */
import 'uplot/dist/uPlot.min.css';
import './overview.css';
import type uPlot from 'uplot';
import type { OverviewResult } from '../src/protocol/overview';
import type { OverviewHostMessage, OverviewReportData, OverviewShow, OverviewWebviewMessage } from '../src/protocol/overviewView';
import { h, replaceChildren } from './dom';
import { densityChart, histogramChart, themeColors, type RuleLine } from './overviewCharts';
import { ruleForm } from './overviewControls';
import { METRIC_LABELS, METRIC_MEANINGS, RULE_LABELS, agreementSentence, binRows, candidatesSentence, counted, countsSentence, formatCount, formatValue, histogramSentence, shownMetrics, sortRows, type SortKey, type SortState } from './overviewModel';

interface VsCodeApi {
  postMessage(message: OverviewWebviewMessage): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

const host: VsCodeApi | undefined = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
const post = (message: OverviewWebviewMessage): void => host?.postMessage(message);

let shown: OverviewShow | undefined;
let charts: uPlot[] = [];
let table: 'worst' | 'best' = 'worst';
let sort: SortState = { key: 'line', descending: false };
let sortTouched = false;
let pending: ReturnType<typeof setTimeout> | undefined;

const app = document.getElementById('app')!;
const status = h('p', { class: 'status', attrs: { role: 'status', 'aria-live': 'polite' } }, 'Loading the overview…');
const notice = h('p', { class: 'notice', attrs: { role: 'alert' } });
const form = ruleForm((rules) => {
  // Typing or dragging sends one request per pause, not one per keystroke.
  if (pending) clearTimeout(pending);
  pending = setTimeout(() => post({ type: 'rules', rules }), 120);
});
const dropList = h('ul', { class: 'drops' });
const chartArea = h('div', { class: 'charts' });
const tableArea = h('div', { class: 'table' });
const commandCode = h('code', { class: 'command' });
const exportArea = h(
  'section',
  { class: 'export', attrs: { 'aria-label': 'Export' } },
  h('h2', {}, 'Export'),
  h('p', {}, 'The same selection from a terminal or a pipeline (the same rules, so the same lines):'),
  h('pre', {}, commandCode),
  host
    ? h(
        'div',
        { class: 'buttons' },
        h('button', { attrs: { type: 'button' }, on: { click: () => post({ type: 'copy', text: commandCode.textContent ?? '' }) } }, 'Copy command'),
        h('button', { class: 'primary', attrs: { type: 'button' }, on: { click: () => post({ type: 'export' }) } }, 'Export selected records…'),
      )
    : null,
);
const title = h('h1', {}, 'Dataset overview');
replaceChildren(app, [
  h('header', {}, title, status, notice),
  h('div', { class: 'layout' }, h('div', { class: 'side' }, form.element, h('section', { attrs: { 'aria-label': 'Dropped, by rule' } }, h('h2', {}, 'Why records are dropped'), dropList), exportArea), chartArea),
  tableArea,
  legend(),
]);

function legend(): HTMLElement {
  return h(
    'section',
    { class: 'legend', attrs: { 'aria-label': 'Legend' } },
    h('h2', {}, 'Legend'),
    h('p', {}, h('span', { class: 'swatch all', attrs: { 'aria-hidden': 'true' } }), ' all scored records  ', h('span', { class: 'swatch kept', attrs: { 'aria-hidden': 'true' } }), ' kept by the rules  ', h('span', { class: 'swatch dropped', attrs: { 'aria-hidden': 'true' } }), ' mostly dropped (2-D view)  ', h('span', { class: 'swatch rule', attrs: { 'aria-hidden': 'true' } }), ' where a rule cuts'),
    h('ul', {}, ...(['ifd', 'rifd', 'ds'] as const).map((m) => h('li', {}, METRIC_MEANINGS[m]))),
  );
}

function ruleLines(result: OverviewResult, metric: 'ifd' | 'rifd' | 'ds', axis: 'x' | 'y' = 'x'): RuleLine[] {
  const lines: RuleLine[] = [];
  const c = result.cutoffs;
  if (metric === 'ifd' && c.ifdMax !== undefined) lines.push({ axis, at: c.ifdMax, label: `IFD < ${formatValue(c.ifdMax)}` });
  if (metric === 'ifd' && c.topIfd !== undefined) lines.push({ axis, at: c.topIfd, label: `top % ≥ ${formatValue(c.topIfd)}` });
  if (metric === 'rifd' && c.rifdMax !== undefined) lines.push({ axis, at: c.rifdMax, label: `r-IFD < ${formatValue(c.rifdMax)}` });
  return lines;
}

function figure(id: string, caption: string, sentence: string, plot: HTMLElement, details: HTMLElement | null): HTMLElement {
  return h('figure', { attrs: { 'aria-labelledby': `${id}-caption`, 'aria-describedby': `${id}-summary` } }, h('figcaption', { attrs: { id: `${id}-caption` } }, caption), plot, h('p', { class: 'summary', attrs: { id: `${id}-summary` } }, sentence), details);
}

function renderCharts(result: OverviewResult): void {
  for (const chart of charts) chart.destroy();
  charts = [];
  const colors = themeColors();
  const pending: (() => void)[] = [];
  const figures: HTMLElement[] = [];
  if (result.candidates) figures.push(...candidateFigures(result, colors, pending));
  for (const hist of result.histograms) {
    // The canvas is a picture of the table below it: screen readers get the sentence and the table.
    const plot = h('div', { class: 'plot', attrs: { 'aria-hidden': 'true' } });
    const rows = binRows(hist);
    const details = h(
      'details',
      {},
      h('summary', {}, `${METRIC_LABELS[hist.metric]} bins as a table`),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', { attrs: { scope: 'col' } }, 'From'), h('th', { attrs: { scope: 'col' } }, 'To'), h('th', { attrs: { scope: 'col' } }, 'Records'), h('th', { attrs: { scope: 'col' } }, 'Kept'))), h('tbody', {}, ...rows.map((r) => h('tr', {}, h('td', {}, formatValue(r.from)), h('td', {}, formatValue(r.to)), h('td', {}, formatCount(r.total)), h('td', {}, formatCount(r.kept)))))),
    );
    figures.push(figure(`hist-${hist.metric}`, `${METRIC_LABELS[hist.metric]}`, histogramSentence(hist), plot, details));
    pending.push(() => charts.push(histogramChart(plot, hist, ruleLines(result, hist.metric), colors, METRIC_LABELS[hist.metric])));
  }
  const d = result.density;
  if (d) {
    const plot = h('div', { class: 'plot', attrs: { 'aria-hidden': 'true' } });
    const sentence = `${counted(d.points, 'record')} with both IFD and r-IFD. Cells are darker where more records lie; coloured as kept where most of a cell's records are kept.`;
    figures.push(figure('density', 'IFD against r-IFD (Selective Reflection-Tuning keeps IFD < 1 and r-IFD < 1)', sentence, plot, null));
    pending.push(() => charts.push(densityChart(plot, d, [...ruleLines(result, 'ifd', 'x'), ...ruleLines(result, 'rifd', 'y')], colors)));
  }
  if (figures.length === 0) figures.push(h('p', { class: 'empty' }, result.counts.unscored > 0 ? 'No scores yet: the charts appear as records are scored (Sift: Score File).' : 'No record has a score.'));
  replaceChildren(chartArea, figures);
  // uPlot sizes itself from its container, which must be in the page first.
  for (const draw of pending) draw();
}

/** A CANDIDATES file: the candidates by their colour in the editor, and the agreement distribution. */
function candidateFigures(result: OverviewResult, colors: ReturnType<typeof themeColors>, pending: (() => void)[]): HTMLElement[] {
  const c = result.candidates!;
  // The editor's line colours: overview.css takes them from the theme colours `sift.score.*` VS Code hands the webview; a report has none and shows the words.
  const swatch = (bucket: number): HTMLElement => h('span', { class: `swatch bucket-${bucket}`, attrs: { 'aria-hidden': 'true' } });
  const counts: Record<string, number> = c.classes;
  const colours = h(
    'section',
    { class: 'candidates', attrs: { 'aria-label': 'Candidates by vote' } },
    h('h2', {}, 'Candidates by vote'),
    h('p', {}, candidatesSentence(c)),
    h('ul', { class: 'vote-colours' }, ...(result.voteColours ?? []).map((v) => h('li', {}, swatch(v.bucket), ` ${v.colour}: ${formatCount(counts[v.class] ?? 0)} ${v.meaning}`))),
    h('p', {}, result.histograms.some((x) => x.metric === 'ds') ? 'DS weights of the candidates: the DS histogram below (IWSI keeps the lowest of the majority candidates).' : 'DS weights: not computed (set a DS valid set to see their distribution here).'),
  );
  const plot = h('div', { class: 'plot', attrs: { 'aria-hidden': 'true' } });
  const rows = c.agreement.total.map((n, i) => ({ from: c.agreement.lo + i * c.agreement.width, to: c.agreement.lo + (i + 1) * c.agreement.width, n }));
  const details = h(
    'details',
    {},
    h('summary', {}, 'Agreement bins as a table'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', { attrs: { scope: 'col' } }, 'From'), h('th', { attrs: { scope: 'col' } }, 'To'), h('th', { attrs: { scope: 'col' } }, 'Questions'))), h('tbody', {}, ...rows.map((r) => h('tr', {}, h('td', {}, formatValue(r.from)), h('td', {}, formatValue(r.to)), h('td', {}, formatCount(r.n)))))),
  );
  const agreement = figure('agreement', 'Agreement per question (share of the majority answer)', agreementSentence(c), plot, details);
  const hist = { lo: c.agreement.lo, width: c.agreement.width, total: c.agreement.total, kept: c.agreement.total.map(() => 0) };
  pending.push(() => charts.push(histogramChart(plot, hist, [], colors, 'agreement', 'questions')));
  return [colours, agreement];
}

function renderDrops(result: OverviewResult): void {
  const items = result.dropped.filter((d) => d.count > 0).map((d) => h('li', {}, h('strong', {}, formatCount(d.count)), ` ${RULE_LABELS[d.rule] ?? d.rule}`, d.noValue > 0 ? ` (${formatCount(d.noValue)} of them have no value)` : ''));
  replaceChildren(dropList, items.length > 0 ? items : [h('li', {}, 'None.')]);
}

function renderTable(result: OverviewResult): void {
  const metrics = shownMetrics(result);
  const ranked = result.rankedBy ? METRIC_LABELS[result.rankedBy] : 'score';
  const rows = sortTouched ? sortRows(table === 'worst' ? result.worst : result.best, sort) : table === 'worst' ? result.worst : result.best;
  const tab = (which: 'worst' | 'best', label: string): HTMLElement =>
    h('button', { class: which === table ? 'tab selected' : 'tab', attrs: { type: 'button', 'aria-pressed': String(which === table) }, on: { click: () => { table = which; renderTable(result); } } }, label);
  const header = (key: SortKey, label: string): HTMLElement => {
    const active = sortTouched && sort.key === key;
    return h('th', { attrs: { scope: 'col', 'aria-sort': active ? (sort.descending ? 'descending' : 'ascending') : undefined } }, h('button', { class: 'sort', attrs: { type: 'button' }, on: { click: () => { sort = { key, descending: active ? !sort.descending : key !== 'line' }; sortTouched = true; renderTable(result); } } }, label + (active ? (sort.descending ? ' ▼' : ' ▲') : '')));
  };
  const body = rows.map((r) =>
    h(
      'tr',
      { class: r.kept ? 'kept' : 'dropped' },
      h('td', {}, host ? h('button', { class: 'link', attrs: { type: 'button', 'aria-label': `Go to line ${r.line}` }, on: { click: () => post({ type: 'reveal', line: r.line }) } }, String(r.line)) : String(r.line)),
      ...metrics.map((m) => h('td', { class: 'num' }, formatValue(r.values[m], m === 'ifd' ? result.cutoffs.ifdMax : m === 'rifd' ? result.cutoffs.rifdMax : undefined))),
      h('td', {}, r.kept ? 'kept' : 'dropped'),
      h('td', { class: 'why' }, r.reason),
    ),
  );
  replaceChildren(tableArea, [
    h('h2', {}, 'Records'),
    h('div', { class: 'tabs', attrs: { role: 'group', 'aria-label': 'Which records' } }, tab('worst', `Worst ${result.worst.length} (highest ${ranked})`), tab('best', `Best ${result.best.length} kept (in the order the selection prefers)`)),
    rows.length === 0
      ? h('p', { class: 'empty' }, 'No records here yet.')
      : h('table', {}, h('thead', {}, h('tr', {}, header('line', 'Line'), ...metrics.map((m) => header(m, METRIC_LABELS[m])), header('kept', 'Decision'), h('th', { attrs: { scope: 'col' } }, 'Why'))), h('tbody', {}, ...body)),
  ]);
}

function show(message: Omit<OverviewShow, 'type'>, readOnly: boolean): void {
  shown = { type: 'show', ...message };
  const { result } = message;
  title.textContent = `Dataset overview: ${message.file}`;
  status.textContent = countsSentence(result.counts, result.scoring);
  form.enable(result.metrics, readOnly);
  commandCode.textContent = message.command;
  renderDrops(result);
  renderCharts(result);
  renderTable(result);
}

window.addEventListener('message', (event: MessageEvent) => {
  const message = event.data as OverviewHostMessage;
  if (message?.type === 'show') {
    const first = shown === undefined;
    if (first) form.set(message.rules);
    show(message, false);
  } else if (message?.type === 'notice') {
    notice.textContent = message.text;
    notice.className = `notice ${message.level}`;
  }
});

// Redraw in the new colours when the theme changes (VS Code swaps the body's classes), and at the new width.
new MutationObserver(() => shown && renderCharts(shown.result)).observe(document.body, { attributes: true, attributeFilter: ['class'] });
let lastWidth = chartArea.clientWidth;
new ResizeObserver(() => {
  if (!shown || Math.abs(chartArea.clientWidth - lastWidth) < 8) return;
  lastWidth = chartArea.clientWidth;
  renderCharts(shown.result);
}).observe(chartArea);

const embedded = document.getElementById('sift-report-data');
if (embedded) {
  const data = JSON.parse(embedded.textContent ?? '{}') as OverviewReportData;
  form.set(data.rules);
  show(data, true);
} else {
  post({ type: 'ready' });
}
