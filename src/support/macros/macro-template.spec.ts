import {
  MACRO_PLACEHOLDERS,
  MacroValues,
  renderMacro,
  unknownPlaceholders,
} from './macro-template';

const values: MacroValues = {
  'ticket.number': '42',
  'ticket.subject': 'Export fails',
  'ticket.priority': 'high',
  'requester.name': 'Ada',
  'agent.name': 'Grace',
};

describe('renderMacro', () => {
  it('fills every known placeholder, with or without spaces in the braces', () => {
    expect(
      renderMacro(
        'Hi {{requester.name}}, #{{ ticket.number }} ({{ticket.subject}}) — {{agent.name}}',
        values,
      ),
    ).toBe('Hi Ada, #42 (Export fails) — Grace');
  });

  it('fills a placeholder each time it appears', () => {
    expect(renderMacro('{{ticket.number}}/{{ticket.number}}', values)).toBe('42/42');
  });

  it('does not expand placeholders that arrive inside a value', () => {
    const sneaky = { ...values, 'requester.name': '{{agent.name}} $& $1' };
    expect(renderMacro('Hi {{requester.name}}', sneaky)).toBe('Hi {{agent.name}} $& $1');
  });

  it('leaves unknown placeholders and stray braces as written', () => {
    expect(renderMacro('{{ticket.secret}} {{ requester.name } {single}', values)).toBe(
      '{{ticket.secret}} {{ requester.name } {single}',
    );
  });

  it('leaves a template without placeholders alone', () => {
    expect(renderMacro('Thanks!', values)).toBe('Thanks!');
  });
});

describe('unknownPlaceholders', () => {
  it('accepts every known placeholder', () => {
    expect(unknownPlaceholders(MACRO_PLACEHOLDERS.map((p) => `{{${p}}}`).join(' '))).toEqual([]);
  });

  it('names each unknown one once, sorted', () => {
    expect(unknownPlaceholders('{{ zeta }} {{ticket.number}} {{alpha.x}} {{zeta}}')).toEqual([
      'alpha.x',
      'zeta',
    ]);
  });
});
