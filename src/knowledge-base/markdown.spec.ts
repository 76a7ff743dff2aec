import { isSafeLinkTarget, renderMarkdown } from './markdown';

describe('renderMarkdown', () => {
  it('renders CommonMark', () => {
    expect(renderMarkdown('# Title\n\nSome **bold** text.')).toBe(
      '<h1>Title</h1>\n<p>Some <strong>bold</strong> text.</p>\n',
    );
  });

  it('shows a <script> block as text, never as markup', () => {
    const html = renderMarkdown('Hello <script>alert(1)</script>');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('escapes raw HTML blocks and inline tags with event handlers', () => {
    const html = renderMarkdown('<div onclick="x()">hi</div>\n\n<img src=x onerror=alert(1)>');
    expect(html).not.toMatch(/<div|<img/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it.each([
    '[click](javascript:alert(1))',
    '[click](JaVaScRiPt:alert(1))',
    '[click](java\tscript:alert(1))',
    '[click](vbscript:msgbox(1))',
    '[click](data:text/html;base64,PHNjcmlwdD4=)',
    '![img](data:image/png;base64,iVBORw0KGgo=)',
    '<javascript:alert(1)>',
  ])('neutralises the dangerous link %s', (markdown) => {
    const html = renderMarkdown(markdown);
    expect(html).not.toMatch(/href="|src="/);
    expect(html.toLowerCase()).not.toMatch(/<a |<img /);
  });

  it('keeps http(s), mailto and relative links, and marks outbound ones', () => {
    expect(renderMarkdown('[a](https://example.com/x)')).toContain(
      '<a href="https://example.com/x" rel="noopener noreferrer nofollow">a</a>',
    );
    expect(renderMarkdown('[b](mailto:help@example.com)')).toContain(
      '<a href="mailto:help@example.com">b</a>',
    );
    expect(renderMarkdown('[c](/kb/articles/other)')).toContain(
      '<a href="/kb/articles/other">c</a>',
    );
    expect(renderMarkdown('[d](other-article#part)')).toContain(
      '<a href="other-article#part">d</a>',
    );
  });

  it('escapes quotes in attributes so they cannot break out', () => {
    const html = renderMarkdown('[x](https://example.com/"onmouseover="alert(1))');
    expect(html).not.toContain('"onmouseover="');
  });
});

describe('isSafeLinkTarget', () => {
  it.each([
    ['https://example.com', true],
    ['http://example.com', true],
    ['mailto:a@example.com', true],
    ['/relative/path', true],
    ['relative', true],
    ['#anchor', true],
    ['//cdn.example.com/x', true],
    ['javascript:alert(1)', false],
    [' javascript:alert(1)', false],
    ['\u0000javascript:alert(1)', false],
    ['data:text/html,x', false],
    ['file:///etc/passwd', false],
    ['ftp://example.com', false],
  ])('%j → %s', (url, safe) => {
    expect(isSafeLinkTarget(url)).toBe(safe);
  });
});
