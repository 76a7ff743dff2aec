import { escapeHtml, HIGHLIGHT_START as S, HIGHLIGHT_STOP as E, snippetHtml } from './snippet';

describe('snippetHtml', () => {
  it('wraps highlighted words in <mark>', () => {
    expect(snippetHtml(`To ${S}reset${E} your ${S}password${E}`)).toBe(
      'To <mark>reset</mark> your <mark>password</mark>',
    );
  });

  it('escapes everything that came from the article', () => {
    expect(snippetHtml(`<script>alert("x")</script> & ${S}<b>${E} 'q'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <mark>&lt;b&gt;</mark> &#39;q&#39;',
    );
  });

  it('an article cannot forge a <mark> tag', () => {
    expect(snippetHtml('<mark>fake</mark>')).toBe('&lt;mark&gt;fake&lt;/mark&gt;');
  });

  it('balances unpaired marks', () => {
    expect(snippetHtml(`${S}open`)).toBe('<mark>open</mark>');
    expect(snippetHtml(`${E}close${S}${S}x${E}${E}`)).toBe('close<mark>x</mark>');
  });

  it('escapeHtml escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});
