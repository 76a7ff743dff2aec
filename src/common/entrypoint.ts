import { AppConfig, loadConfig } from '../config/app-config';
import { ConfigError } from '../config/config.error';

export const describeError = (error: unknown): string =>
  error instanceof Error ? (error.stack ?? error.message) : String(error);

/**
 * Loads the configuration, or ends the process with the configuration
 * problems (one line each, no stack: a configuration mistake is not a crash).
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, exitCode = 1): AppConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(exitCode);
    }
    throw error;
  }
}

/** Runs a command's `main` and exits with its code; an exception exits 1 with its stack. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${describeError(error)}\n`);
      process.exit(1);
    },
  );
}
