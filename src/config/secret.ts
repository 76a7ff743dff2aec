import { inspect } from 'node:util';

/**
 * A configuration value that must never reach a log line, an error message or
 * a JSON dump. Read it with `reveal()` at the single place that needs it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[secret]';
  }

  toJSON(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return '[secret]';
  }
}
