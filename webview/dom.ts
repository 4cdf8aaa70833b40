/**
 * The only way the view makes elements: `h(tag, props, ...children)`, where a string child becomes
 * a Text node. Nothing here parses HTML (no innerHTML, no insertAdjacentHTML), so dataset text such
 * as `<script>` or `<img onerror=...>` can only ever be text on the screen.
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  /** Attributes, set with setAttribute (values are strings; `false`/undefined leaves one out, `true` sets it empty). */
  attrs?: Record<string, string | boolean | undefined>;
  /** Event listeners. */
  on?: Record<string, (event: Event) => void>;
}

export function h(tag: string, props: Props = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    // Event-handler attributes are never set from here, whatever the caller passes.
    if (/^on/i.test(name)) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const [type, listener] of Object.entries(props.on ?? {})) el.addEventListener(type, listener);
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces an element's children (with the same text-only rules). */
export function replaceChildren(parent: Element, children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}
