/**
 * Record text as markdown: markdown-it's tokens turned into a tree of plain nodes that record.ts
 * builds with webview/dom.ts. No HTML string is ever made or parsed: each token becomes an element
 * from a short list of tags (anything else is a span), raw HTML in the record stays literal text
 * (`html: false`), links are shown but not followed (a dataset is not a place to click through
 * from), and images become their alt text (the page's CSP loads no outside image anyway). That
 * list is the sanitizer. Nothing here touches the DOM, so it is tested in Node.
 */
import MarkdownIt from 'markdown-it';

// `breaks`: a single newline in a record is a line break, as its author meant it.
const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true });

type Token = ReturnType<MarkdownIt['parse']>[number];

export type MdNode = { text: string } | MdElement;
export interface MdElement {
  tag: string;
  class?: string;
  attrs?: Record<string, string>;
  children: MdNode[];
}

/** Container tags a token may open; any other opening token becomes a span. */
const TAGS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'blockquote', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'em', 'strong', 's']);

function element(tag: string, extra: Partial<MdElement> = {}, ...children: MdNode[]): MdElement {
  return { tag, ...extra, children };
}

function opening(token: Token): MdElement {
  if (token.tag === 'a') return element('span', { class: 'link', attrs: { title: token.attrGet('href') ?? '' } });
  if (!TAGS.has(token.tag)) return element('span');
  const start = token.tag === 'ol' ? token.attrGet('start') : null;
  const align = /text-align:(left|right|center)/.exec(token.attrGet('style') ?? '')?.[1];
  return element(token.tag, { ...(align ? { class: `align-${align}` } : {}), ...(start && /^\d+$/.test(start) ? { attrs: { start } } : {}) });
}

function build(tokens: Token[], into: MdElement): void {
  const stack: MdElement[] = [into];
  for (const token of tokens) {
    const top = stack[stack.length - 1];
    if (token.nesting === 1) {
      // Tight lists hide their paragraphs: the text goes straight into the item.
      let el = top;
      if (!token.hidden) top.children.push((el = opening(token)));
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
        top.children.push(element('code', {}, { text: token.content }));
        break;
      case 'code_block':
      case 'fence': {
        const language = token.info.trim().split(/\s+/)[0];
        top.children.push(element('pre', language ? { attrs: { 'data-language': language } } : {}, element('code', {}, { text: token.content.replace(/\n$/, '') })));
        break;
      }
      case 'softbreak':
      case 'hardbreak':
        top.children.push(element('br'));
        break;
      case 'hr':
        top.children.push(element('hr'));
        break;
      case 'image':
        top.children.push(element('span', { class: 'image' }, { text: `[image: ${token.content || token.attrGet('src') || ''}]` }));
        break;
      default:
        // text, and html_inline / html_block (shown as written); markdown-it has decoded entities already.
        if (token.content) top.children.push({ text: token.content });
    }
  }
}

/** A record text as nodes: paragraphs, lists, code blocks, tables... */
export function markdownTree(text: string): MdNode[] {
  const root = element('div');
  build(md.parse(text, {}), root);
  return root.children;
}
