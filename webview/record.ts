/**
 * The record view (a VS Code webview): the record under the cursor with real newlines, code blocks
 * and markdown, every turn of a conversation, its scores with what each means, and the actions. It
 * talks to its host only through the messages of src/protocol/recordView.ts; the host sends the
 * whole record each time, so the only state kept here is the reader's choice of markdown or plain text.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import './record.css';
import { isRecordHostMessage, type RecordAction, type RecordDetails, type RecordMetric, type RecordViewContent, type RecordWebviewMessage } from '../src/protocol/recordView';
import { h, replaceChildren, type Child } from './dom';
import { markdownTree, type MdNode } from './markdown';
import { actionButtons, bucketText, percentileText, rankText, stateText, turnTitle } from './recordModel';

interface VsCodeApi {
  postMessage(message: RecordWebviewMessage): void;
  getState(): unknown;
  setState(state: { plain: boolean }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
let plain = (vscode.getState() as { plain?: unknown } | undefined)?.plain === true;
let content: RecordViewContent | undefined;
/** The record shown last (`uri#line`): another record starts at the top of the view, the same one keeps its scroll position. */
let shownKey: string | undefined;

function press(details: RecordDetails, action: RecordAction): void {
  vscode.postMessage({ type: 'action', action, uri: details.uri, line: details.line, version: details.version });
}

function button(label: string, title: string, onClick: () => void, secondary = true, disabled = false): HTMLElement {
  return h('vscode-button', { attrs: { secondary, disabled, title, 'aria-label': title }, on: { click: onClick } }, label);
}

function header(details: RecordDetails, fileName: string): HTMLElement {
  const noScores = details.scored === 0;
  return h(
    'header',
    { class: 'top' },
    h('div', {}, h('h1', {}, `Line ${details.line + 1} of ${details.lineCount}`), h('p', { class: 'sub' }, `${fileName} · ${details.format}`, details.rank ? ` · ${rankText(details.rank)}` : '', details.unscored > 0 ? ` · ${details.unscored} not scored yet` : '')),
    h(
      'nav',
      { attrs: { 'aria-label': 'Records by score' } },
      button('◀ Worse', 'Previous record by score: the next worse one (Alt+[)', () => press(details, 'previous'), true, noScores),
      button('Better ▶', 'Next record by score: the next better one (Alt+])', () => press(details, 'next'), true, noScores),
    ),
  );
}

function metricRow(metric: RecordMetric, scored: number): HTMLElement {
  const percent = percentileText(metric, scored);
  return h(
    'div',
    { class: 'metric', attrs: { role: 'group', 'aria-label': `${metric.label} ${metric.text}` } },
    h(
      'p',
      { class: 'value' },
      h('span', { class: `swatch bucket-${metric.bucket < 0 ? 'none' : metric.bucket}`, attrs: { 'aria-hidden': 'true' } }),
      h('strong', {}, `${metric.label} ${metric.text}`),
      ` · ${bucketText(metric.bucket)}`,
      metric.verdict ? ` · ${metric.verdict}` : '',
      metric.reason ? ` · ${metric.reason}` : '',
    ),
    h('p', { class: 'meaning' }, metric.meaning),
    percent ? h('p', { class: 'meaning' }, percent) : null,
  );
}

function scores(details: RecordDetails): HTMLElement | null {
  const state = stateText(details);
  const rows = details.state === 'scored' || details.state === 'pending' ? details.metrics.map((m) => metricRow(m, details.scored)) : [];
  if (!state && rows.length === 0) return null;
  return h(
    'section',
    { class: 'scores', attrs: { 'aria-label': 'Scores' } },
    state ? h('p', { class: `state state-${details.state}` }, state) : null,
    details.problems.length > 0 ? h('ul', { class: 'problems' }, ...details.problems.map((p) => h('li', {}, p))) : null,
    ...rows,
  );
}

function actions(details: RecordDetails, overview: boolean): HTMLElement {
  return h('section', { class: 'actions', attrs: { 'aria-label': 'Actions' } }, ...actionButtons(details, overview).map((b) => button(b.label, b.title, () => press(details, b.action), b.secondary)));
}

function turns(details: RecordDetails): HTMLElement | null {
  if (details.turns.length === 0) return null;
  const toggle = h('label', { class: 'toggle' }, h('input', { attrs: { type: 'checkbox', checked: plain }, on: { change: (e) => setPlain((e.target as HTMLInputElement).checked) } }), ' Plain text (no markdown)');
  return h(
    'section',
    { class: 'turns' },
    toggle,
    ...details.turns.map((turn) => {
      const body: Child = plain ? h('pre', { class: 'plain' }, turn.content) : h('div', { class: 'markdown' }, ...markdownTree(turn.content).map(markdownElement));
      return h('article', { class: `turn part-${turn.part}` }, h('h2', {}, turnTitle(turn, details.format)), turn.content === '' ? h('p', { class: 'empty' }, '(empty)') : body);
    }),
  );
}

function markdownElement(node: MdNode): Child {
  return 'text' in node ? node.text : h(node.tag, { class: node.class, attrs: node.attrs }, ...node.children.map(markdownElement));
}

function setPlain(value: boolean): void {
  plain = value;
  vscode.setState({ plain });
  render();
}

function render(): void {
  if (!content) return;
  if (content.kind === 'empty') {
    replaceChildren(app, [h('p', { class: 'empty' }, content.text)]);
    return;
  }
  const { details, fileName, overview } = content;
  replaceChildren(app, [header(details, fileName), scores(details), actions(details, overview), turns(details)]);
  const key = `${details.uri}#${details.line}`;
  if (key !== shownKey) window.scrollTo(0, 0);
  shownKey = key;
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (!isRecordHostMessage(event.data)) return;
  content = event.data.content;
  render();
});
vscode.postMessage({ type: 'ready' });
