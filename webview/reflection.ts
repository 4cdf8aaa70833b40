/**
 * The reflection diff view (a VS Code webview): the original and a rewritten pair field by field
 * with a word diff, the student's scores of both, the decision and its reason, the teacher's
 * critique, fallbacks, and the actions. It talks to its host only through the messages of
 * src/protocol/reflectionView.ts and keeps its state with setState, so it comes back after a reload.
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import './reflection.css';
import {
  isHostMessage,
  panelState,
  type CandidateId,
  type HostMessage,
  type PanelState,
  type RecordStatus,
  type ReflectionView,
  type WebviewMessage,
} from '../src/protocol/reflectionView';
import { h, replaceChildren, type Child } from './dom';
import {
  ACCEPT_FIELDS_OF,
  CANDIDATE_TITLES,
  SHORTCUTS,
  actionsFor,
  decisionHeadline,
  gateConflict,
  primaryAction,
  fieldDiffs,
  scoreRows,
  shortcutFor,
  shownCandidate,
  warningsOf,
  type ActionState,
  type Segment,
  type Shortcut,
} from './model';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: PanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;

let state: PanelState | undefined = panelState(vscode.getState());
let notice: { level: 'info' | 'error'; text: string } | undefined;
/** Critiques the user opened (they stay open across re-renders). */
const openCritiques = new Set<string>();

function post(message: WebviewMessage): void {
  vscode.postMessage(message);
}

function save(): void {
  if (state) vscode.setState(state);
}

function current(): { view: ReflectionView; status: RecordStatus; index: number } | undefined {
  if (!state) return undefined;
  return { view: state.records[state.index], status: state.statuses[state.index], index: state.index };
}

// ---- actions -------------------------------------------------------------------------------------

function go(delta: number): void {
  if (!state) return;
  const next = state.index + delta;
  if (next < 0 || next >= state.records.length) {
    say('info', delta > 0 ? 'This is the last record.' : 'This is the first record.');
    return;
  }
  state.index = next;
  notice = undefined;
  save();
  post({ type: 'navigate', index: next });
  render();
}

function pick(candidate: CandidateId): void {
  if (!state) return;
  state.shown[state.index] = candidate;
  save();
  render();
}

function run(action: Shortcut): void {
  const here = current();
  if (!here) return;
  if (action === 'next') return go(1);
  if (action === 'previous') return go(-1);
  if (action === 'reject') {
    post({ type: 'reject', index: here.index });
    return;
  }
  const shown = shownCandidate(here.view, state!.shown[here.index]);
  const actions = actionsFor(shown);
  if (action === 'openDiff') {
    if (!actions.openDiff.enabled) return say('info', actions.openDiff.why ?? '');
    post({ type: 'openDiff', index: here.index, candidate: shown.id });
    return;
  }
  const enabled: ActionState = actions[action];
  if (!enabled.enabled) return say('info', enabled.why ?? '');
  post({ type: 'accept', index: here.index, candidate: shown.id, fields: ACCEPT_FIELDS_OF[action] });
}

function say(level: 'info' | 'error', text: string): void {
  notice = { level, text };
  renderStatus();
}

// ---- messages from the host ----------------------------------------------------------------------

window.addEventListener('message', (event: MessageEvent) => {
  const message: unknown = event.data;
  if (!isHostMessage(message)) return;
  receive(message);
});

function receive(message: HostMessage): void {
  switch (message.type) {
    case 'show': {
      const same = state?.session === message.session;
      state = {
        v: 1,
        session: message.session,
        title: message.title,
        records: message.records,
        statuses: message.statuses,
        index: message.index,
        shown: same && state ? state.shown : {},
      };
      notice = undefined;
      save();
      render();
      return;
    }
    case 'status':
      if (!state || message.index >= state.records.length) return;
      state.statuses[message.index] = message.status;
      if (message.index === state.index) notice = undefined;
      save();
      render();
      return;
    case 'notice':
      say(message.level, message.text);
      return;
  }
}

window.addEventListener('keydown', (event: KeyboardEvent) => {
  const action = shortcutFor(event);
  if (!action) return;
  event.preventDefault();
  event.stopPropagation();
  run(action);
});

// ---- rendering -----------------------------------------------------------------------------------

function button(key: string, label: string, onClick: () => void, options: { secondary?: boolean; state?: ActionState; pressed?: boolean; shortcut?: string } = {}): HTMLElement {
  const disabled = options.state !== undefined && !options.state.enabled;
  const title = [options.shortcut, disabled ? options.state?.why : undefined].filter(Boolean).join(' — ');
  return h(
    'vscode-button',
    {
      attrs: {
        'data-key': key,
        secondary: options.secondary === true,
        disabled,
        title: title || undefined,
        'aria-pressed': options.pressed === undefined ? undefined : String(options.pressed),
        'aria-keyshortcuts': options.shortcut,
      },
      on: { click: () => (disabled ? undefined : onClick()) },
    },
    label,
  );
}

function segments(list: Segment[], emptyText: string): Child[] {
  if (list.length === 0) return [h('span', { class: 'empty' }, emptyText)];
  return list.map((s) => (s.kind === 'same' ? h('span', {}, s.text) : h(s.kind === 'added' ? 'ins' : 'del', { class: `seg ${s.kind}` }, s.text)));
}

function render(): void {
  const focusedKey = (document.activeElement as HTMLElement | null)?.dataset?.key;
  const here = current();
  if (!here || !state) {
    replaceChildren(app, [h('p', { class: 'loading' }, 'Nothing to show yet.')]);
    return;
  }
  const { view, status, index } = here;
  const original = view.candidates[0];
  const shown = shownCandidate(view, state.shown[index]);
  const actions = actionsFor(shown);
  const headline = decisionHeadline(view);
  const conflict = gateConflict(view);
  const primary = primaryAction(view);
  const fileName = decodeURIComponent(view.uri.split('/').pop() ?? view.uri);
  const total = state.records.length;

  const header = h(
    'header',
    { class: 'top' },
    h('h1', {}, `${fileName} · line ${view.line + 1}`),
    h(
      'nav',
      { attrs: { 'aria-label': 'Records of this batch' } },
      button('previous', 'Previous', () => go(-1), { secondary: true, state: { enabled: index > 0, why: 'This is the first record.' }, shortcut: 'Alt+P' }),
      h('span', { class: 'position', attrs: { 'aria-live': 'polite' } }, `Record ${index + 1} of ${total}`),
      button('next', 'Next', () => go(1), { secondary: true, state: { enabled: index < total - 1, why: 'This is the last record.' }, shortcut: 'Alt+N' }),
    ),
  );

  const decision = h(
    'section',
    { class: `decision tone-${headline.tone}`, attrs: { 'aria-label': 'Decision' } },
    h('p', { class: 'headline' }, h('strong', {}, headline.text), ` · mode ${view.mode}`),
    // The stage lines below give each comparison; the overall reason says more only without them.
    view.decisions.length === 0 || view.kept === null ? h('p', { class: 'reason' }, view.reason) : null,
    view.gate ? h('p', { class: 'gate' }, `Released rule: ${view.gate.passed ? 'passed' : 'not passed'} (${view.gate.reason})`) : null,
    conflict ? h('p', { class: 'gate conflict', attrs: { role: 'note' } }, h('strong', {}, 'Selection conflict: '), conflict) : null,
    ...view.decisions.map((d) =>
      h('p', { class: 'stage' }, h('vscode-badge', {}, d.stage === 'instruction' ? 'instruction stage' : 'response stage'), ' ', d.reason),
    ),
  );

  const warnings = warningsOf(view, shown);
  const warningList =
    warnings.length > 0
      ? h('section', { class: 'warnings', attrs: { 'aria-label': 'Warnings' } }, h('ul', {}, ...warnings.map((w) => h('li', {}, h('span', { class: 'warn-mark', attrs: { 'aria-hidden': 'true' } }, '⚠'), ' ', w))))
      : null;

  const picker = h(
    'div',
    { class: 'candidates', attrs: { role: 'group', 'aria-label': 'Candidate shown on the right' } },
    h('span', { class: 'label' }, 'Compare with:'),
    ...view.candidates
      .filter((c) => c.id !== 'original')
      .map((c) =>
        h(
          'span',
          { class: 'candidate' },
          button(`pick-${c.id}`, CANDIDATE_TITLES[c.id], () => pick(c.id), { secondary: c.id !== shown.id, pressed: c.id === shown.id }),
          view.kept === c.id ? h('vscode-badge', { attrs: { title: 'The student kept this candidate' } }, 'kept') : null,
          c.fallbacks.length > 0 ? h('vscode-badge', { class: 'fallback', attrs: { title: 'Part of the teacher output fell back to the original text' } }, 'fallback') : null,
        ),
      ),
    view.kept === 'original' ? h('span', { class: 'kept-original' }, h('vscode-badge', {}, 'kept'), ' original') : null,
  );

  const rows = scoreRows(original, shown, view.decisions.map((d) => d.metric));
  const scores = h(
    'table',
    { class: 'scores' },
    h('caption', {}, `Student scores (${view.student.model || 'student'}, template ${view.student.template}, IFD variant ${view.student.ifdVariant})`),
    h('thead', {}, h('tr', {}, h('th', { attrs: { scope: 'col' } }, 'Metric'), h('th', { attrs: { scope: 'col' } }, 'Original'), h('th', { attrs: { scope: 'col' } }, CANDIDATE_TITLES[shown.id]))),
    h(
      'tbody',
      {},
      ...rows.map((r) =>
        h(
          'tr',
          { attrs: { title: r.reason ? `${r.hint} No value: ${r.reason}` : r.hint } },
          h('th', { attrs: { scope: 'row' } }, r.label),
          h('td', {}, r.before),
          h(
            'td',
            { class: r.failsGate ? 'worse' : r.better === undefined ? '' : r.better ? 'better' : 'worse' },
            r.after,
            r.better === undefined ? '' : r.better ? (r.failsGate ? ' ▲ higher, but ≥ 1: dropped by the gate' : ' ▲ better') : ' ▼ worse',
          ),
        ),
      ),
    ),
  );

  const diffs = fieldDiffs(original, shown).filter((d) => !d.empty);
  const fields = h(
    'section',
    { class: 'fields', attrs: { 'aria-label': 'Fields' } },
    ...diffs.map((d) =>
      h(
        'section',
        { class: `field ${d.changed ? 'changed' : 'unchanged'}` },
        h('h2', {}, d.label, h('span', { class: 'summary' }, d.changed ? ` · ${d.added} word(s) added, ${d.removed} removed` : ' · unchanged')),
        d.changed
          ? h(
              'div',
              { class: 'sides' },
              h('div', { class: 'side before' }, h('h3', {}, 'Original'), h('div', { class: 'text' }, ...segments(d.before, '(empty)'))),
              h('div', { class: 'side after' }, h('h3', {}, CANDIDATE_TITLES[shown.id]), h('div', { class: 'text' }, ...segments(d.after, '(empty)'))),
            )
          : h('div', { class: 'sides' }, h('div', { class: 'side same' }, h('h3', {}, 'Original and rewrite'), h('div', { class: 'text' }, ...segments(d.before, '(empty)')))),
      ),
    ),
  );

  const critiques = view.candidates
    .filter((c) => c.critique !== undefined)
    .map((c) =>
      h(
        'vscode-collapsible',
        {
          attrs: { heading: `Teacher's critique · ${CANDIDATE_TITLES[c.id].toLowerCase()}`, 'data-key': `critique-${c.id}`, open: openCritiques.has(c.id) },
          on: {
            'vsc-collapsible-toggle': (event) => {
              if ((event as CustomEvent<{ open: boolean }>).detail.open) openCritiques.add(c.id);
              else openCritiques.delete(c.id);
            },
          },
        },
        h('div', { class: 'critique text' }, c.critique ? c.critique : '(the teacher gave no critique)'),
      ),
    );

  const actionBar = h(
    'div',
    { class: 'actions', attrs: { role: 'toolbar', 'aria-label': 'Actions' } },
    // The highlighted button follows the student's decision: Reject when it kept the original (or the choice fails the gate).
    button('accept', 'Accept', () => run('accept'), { secondary: primary !== 'accept', state: actions.accept, shortcut: 'Alt+A' }),
    button('acceptInstruction', 'Accept instruction only', () => run('acceptInstruction'), { secondary: true, state: actions.acceptInstruction, shortcut: 'Alt+I' }),
    button('acceptResponse', 'Accept response only', () => run('acceptResponse'), { secondary: true, state: actions.acceptResponse, shortcut: 'Alt+S' }),
    button('reject', 'Reject', () => run('reject'), { secondary: primary !== 'reject', shortcut: 'Alt+R' }),
    button('openDiff', 'Open in diff editor', () => run('openDiff'), { secondary: true, state: actions.openDiff, shortcut: 'Alt+D' }),
  );

  const statusLine = h('p', { class: 'status', attrs: { id: 'status', role: 'status', 'aria-live': 'polite' } });

  const usage = view.usage;
  const footer = h(
    'footer',
    {},
    h('p', {}, `Teacher ${view.teacher.model} at ${view.teacher.endpoint} · prompts ${view.teacher.promptVersion} · ${usage.calls} call(s), ${usage.promptTokens + usage.completionTokens} tokens${usage.cachedReflections > 0 ? `, ${usage.cachedReflections} from the cache` : ''}`),
    h(
      'section',
      { class: 'keys', attrs: { 'aria-label': 'Keyboard shortcuts' } },
      h('h2', {}, 'Keyboard'),
      h('p', {}, 'Tab moves between the controls; Enter or Space presses a button; Enter opens a critique.'),
      h('dl', {}, ...SHORTCUTS.flatMap((s) => [h('dt', {}, h('kbd', {}, s.key)), h('dd', {}, s.label)])),
    ),
  );

  replaceChildren(app, [header, decision, warningList, picker, scores, fields, ...critiques, actionBar, statusLine, footer]);
  renderStatus();
  app.dataset.state = status.state;
  if (focusedKey) (app.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`) as HTMLElement | null)?.focus();
}

function renderStatus(): void {
  const line = document.getElementById('status');
  const here = current();
  if (!line || !here) return;
  const text = notice?.text ?? here.status.detail ?? (here.status.state === 'pending' ? 'Not decided yet.' : '');
  line.className = `status ${notice?.level === 'error' ? 'error' : here.status.state}`;
  replaceChildren(line, [text]);
}

render();
post({ type: 'ready' });
