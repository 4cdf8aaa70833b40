import { CodeActionKind, type CodeAction, type Diagnostic, type Range, type WorkspaceEdit } from 'vscode-languageserver';
import { Commands } from '../protocol';
import type { ReflectionMode } from '../protocol/reflectionView';
import type { SiftDocument } from './document';
import { isQuestionRecord } from './sampleQuestion';

/**
 * The range that deletes line `index` with its terminator: from its start to the start of the next
 * line. The last line has no terminator of its own, so the one before it goes instead (the file
 * keeps its other line endings, CRLF or LF, untouched).
 */
export function dropRange(doc: SiftDocument, index: number): Range {
  const last = doc.records.lineCount - 1;
  if (index < last) return { start: { line: index, character: 0 }, end: { line: index + 1, character: 0 } };
  if (index === 0) return { start: { line: 0, character: 0 }, end: { line: 0, character: doc.lineEnd(0) } };
  return { start: { line: index - 1, character: doc.lineEnd(index - 1) }, end: { line: index, character: doc.lineEnd(index) } };
}

const REFLECT_ACTIONS: [string, ReflectionMode][] = [
  ['Reflect instruction', 'instruction'],
  ['Reflect response', 'response'],
  ['Selective reflection', 'selective'],
];

export function dropEdit(doc: SiftDocument, index: number, versioned: boolean): WorkspaceEdit {
  const edit = { range: dropRange(doc, index), newText: '' };
  return versioned
    ? { documentChanges: [{ textDocument: { uri: doc.uri, version: doc.version }, edits: [edit] }] }
    : { changes: { [doc.uri]: [edit] } };
}

/**
 * Actions for the lines under the cursor or selection. On one record line: "Score this record"
 * (when it has no score yet) and "Drop record" (also on invalid lines). Drop is a quick fix when the
 * line has problems (it fixes them by removing the record) and a refactoring otherwise. A selection
 * over several lines offers scoring them.
 *
 * A record also gets "Reflect instruction", "Reflect response" and "Selective reflection". They are
 * lazy (they only name a command: the teacher is never called to show a lightbulb) and offered
 * whether or not a teacher is configured: without one the command answers with what to set, which
 * is how a user finds out that reflection exists. With `reflect.apply` (editors without Sift's diff
 * view) the command writes the record the student kept back into the file.
 */
export function codeActions(doc: SiftDocument, range: Range, diagnostics: Diagnostic[], versioned: boolean, reflect: { apply: boolean } = { apply: false }): CodeAction[] {
  if (doc.tooLarge !== undefined) return [];
  const first = Math.max(0, range.start.line);
  const end = range.end.character === 0 && range.end.line > range.start.line ? range.end.line - 1 : range.end.line;
  const last = Math.min(doc.records.lineCount - 1, end);
  if (last < first) return [];
  const actions: CodeAction[] = [];
  if (first !== last) {
    let unscored = 0;
    for (let i = first; i <= last; i++) {
      const line = doc.records.line(i)!;
      if (line.scorable && !doc.scores.has(line.text) && !doc.pending.has(line.text)) unscored++;
    }
    if (unscored > 0) {
      actions.push({
        title: `Score ${unscored} selected record${unscored === 1 ? '' : 's'}`,
        kind: CodeActionKind.QuickFix,
        command: { title: 'Score selected records', command: Commands.scoreLines, arguments: [doc.uri, first, last] },
      });
    }
    return actions;
  }
  const line = doc.records.line(first)!;
  if (line.blank) return [];
  const onLine = diagnostics.filter((d) => d.source === 'sift' && d.range.start.line <= first && d.range.end.line >= first && d.code !== 'more-problems');
  if (line.scorable && !doc.scores.has(line.text) && !doc.pending.has(line.text)) {
    actions.push({
      title: 'Score this record',
      kind: CodeActionKind.QuickFix,
      command: { title: 'Score this record', command: Commands.scoreLines, arguments: [doc.uri, first, first] },
    });
  }
  if (line.scorable && line.pair) {
    for (const [title, mode] of REFLECT_ACTIONS) {
      const args: unknown[] = [doc.uri, first, mode, doc.version];
      if (reflect.apply) args.push({ apply: true });
      actions.push({ title, kind: CodeActionKind.RefactorRewrite, command: { title, command: Commands.reflect, arguments: args } });
    }
  }
  if (isQuestionRecord(doc, first)) {
    const title = 'Sample candidates for this question';
    actions.push({ title, kind: CodeActionKind.Refactor, command: { title, command: Commands.sampleQuestion, arguments: [doc.uri, first] } });
  }
  const drop: CodeAction = {
    title: 'Drop record',
    kind: onLine.length > 0 ? CodeActionKind.QuickFix : CodeActionKind.RefactorRewrite,
    edit: dropEdit(doc, first, versioned),
  };
  if (onLine.length > 0) drop.diagnostics = onLine;
  actions.push(drop);
  return actions;
}

/** The client may ask for some kinds only (e.g. quick fixes on save); a kind matches its sub-kinds. */
export function onlyKinds<T extends { kind?: string }>(actions: T[], only: string[] | undefined): T[] {
  if (!only || only.length === 0) return actions;
  return actions.filter((action) => action.kind !== undefined && only.some((kind) => action.kind === kind || action.kind!.startsWith(`${kind}.`)));
}
