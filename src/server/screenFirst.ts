import type { SiftDocument } from './document';

/**
 * The texts of lines [from, to] waiting to be scored (in `doc.pending`), in the order to score them:
 * the records on screen (`doc.onScreen`) first, shortest first, so each label appears as soon as it
 * can (the first one once a short record is scored, not a long one), then the others in line order.
 */
export function screenFirst(doc: SiftDocument, from: number, to: number): string[] {
  const screen = doc.onScreen;
  const onScreen: string[] = [];
  const others: string[] = [];
  const seen = new Set<string>();
  for (let i = Math.max(0, from); i <= to && i < doc.records.lineCount; i++) {
    const text = doc.records.line(i)!.text;
    if (!doc.pending.has(text) || seen.has(text)) continue;
    seen.add(text);
    (screen && i >= screen.from && i <= screen.to ? onScreen : others).push(text);
  }
  // Stable: records of the same length keep their line order.
  onScreen.sort((a, b) => a.length - b.length);
  return onScreen.concat(others);
}
