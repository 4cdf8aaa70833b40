/**
 * The record view's markdown: markdown-it's tokens turned into the nodes the view builds with
 * webview/dom.ts (which makes text nodes of text and parses no HTML). Printed here the way the
 * screen would show them: text escaped, so any tag in the output is an element the view made.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markdownTree, type MdNode } from '../../webview/markdown';

function print(node: MdNode): string {
  if ('text' in node) return node.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const attrs = [...(node.class ? [['class', node.class]] : []), ...Object.entries(node.attrs ?? {})].map(([k, v]) => ` ${k}="${v}"`).join('');
  return `<${node.tag}${attrs}>${node.children.map(print).join('')}</${node.tag}>`;
}

const render = (text: string): string => markdownTree(text).map(print).join('');

describe('record text as markdown', () => {
  it('keeps the record\'s newlines: a single newline is a line break, a blank line a new paragraph', () => {
    assert.equal(render('one\ntwo\n\nthree'), '<p>one<br></br>two</p><p>three</p>');
  });

  it('lists, emphasis, inline code and fenced code blocks (with their language)', () => {
    assert.equal(render('1. **bold** and *it*\n2. `x = 1`'), '<ol><li><strong>bold</strong> and <em>it</em></li><li><code>x = 1</code></li></ol>');
    assert.equal(render('```python\nprint("<b>")\n```'), '<pre data-language="python"><code>print("&lt;b&gt;")</code></pre>');
    assert.equal(render('    indented\n    code'), '<pre><code>indented\ncode</code></pre>');
    assert.equal(render('3. third\n4. fourth'), '<ol start="3"><li>third</li><li>fourth</li></ol>');
  });

  it('raw HTML in a record stays text: no element, no attribute, no handler comes from it', () => {
    const out = render('<script>alert(1)</script>\n\nhi <img src=x onerror="alert(2)"> <b>bold</b>');
    assert.equal(out, '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><p>hi &lt;img src=x onerror="alert(2)"&gt; &lt;b&gt;bold&lt;/b&gt;</p>');
  });

  it('links are shown, not followed; images become their alt text', () => {
    assert.equal(render('[docs](https://example.com/a) and [x](javascript:alert(1))'), '<p><span class="link" title="https://example.com/a">docs</span> and [x](javascript:alert(1))</p>');
    assert.equal(render('![a cat](https://example.com/cat.png)'), '<p><span class="image">[image: a cat]</span></p>');
  });

  it('tables keep their alignment as a class (the CSP allows no style attribute)', () => {
    assert.equal(render('| a | b |\n|:-|-:|\n| 1 | 2 |'), '<table><thead><tr><th class="align-left">a</th><th class="align-right">b</th></tr></thead><tbody><tr><td class="align-left">1</td><td class="align-right">2</td></tr></tbody></table>');
  });
});
