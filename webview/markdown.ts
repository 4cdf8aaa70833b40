/**
 * Record text as markdown, built as DOM nodes from markdown-it's tokens. No HTML string is ever
 * made or parsed: each token becomes an element from a short list of tags (anything else is text),
 * raw HTML in the record stays literal text (`html: false`), links are shown but not followed (a
 * dataset is not a place to click through from), and images become their alt text (the page's CSP
 * loads no image from outside the extension anyway). That list is the sanitizer.
 */
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import { h } from './dom';

// `breaks`: a single newline in a record is a line break, as its author meant it.
const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true });

/** Container tags a token may open; any other opening token becomes a span. */
const TAGS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'blockquote', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'em', 'strong', 's']);

function opening(token: Token): HTMLElement {
  if (token.tag === 'a') return h('span', { class: 'link', attrs: { title: token.attrGet('href') ?? undefined } });
  if (!TAGS.has(token.tag)) return h('span');
  const start = token.tag === 'ol' ? token.attrGet('start') : null;
  const align = /text-align:(left|right|center)/.exec(token.attrGet('style') ?? '')?.[1];
  return h(token.tag, { class: align ? `align-${align}` : undefined, attrs: { start: start && /^\d+$/.test(start) ? start : undefined } });
}

function build(tokens: Token[], into: HTMLElement): void {
  const stack: HTMLElement[] = [into];
  for (const token of tokens) {
    const top = stack[stack.length - 1];
    if (token.nesting === 1) {
      // Tight lists hide their paragraphs: the text goes straight into the item.
      const el = token.hidden ? top : top.appendChild(opening(token));
      stack.push(el);
      continue;
    }
    if (token.nesting === -1) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    switch (token.type) {
      case 'inline':
        build(token.children ?? [], top);
        break;
      case 'code_inline':
        top.appendChild(h('code', {}, token.content));
        break;
      case 'code_block':
      case 'fence': {
        const language = token.info.trim().split(/\s+/)[0];
        top.appendChild(h('pre', { attrs: { 'data-language': language || undefined } }, h('code', {}, token.content.replace(/\n$/, ''))));
        break;
      }
      case 'softbreak':
      case 'hardbreak':
        top.appendChild(h('br'));
        break;
      case 'hr':
        top.appendChild(h('hr'));
        break;
      case 'image':
        top.appendChild(h('span', { class: 'image' }, `[image: ${token.content || token.attrGet('src') || ''}]`));
        break;
      default:
        // text, html_inline / html_block (shown as written), entities already decoded by markdown-it.
        if (token.content) top.append(token.content);
    }
  }
}

/** A record text as a fragment of elements (paragraphs, lists, code blocks, tables...). */
export function markdownFragment(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const root = h('div');
  build(md.parse(text, {}), root);
  while (root.firstChild) fragment.appendChild(root.firstChild);
  return fragment;
}
