// The vitest lifecycle around startMoto, apart from moto.ts so that the demo can start moto without vitest.

import { afterAll, beforeAll, beforeEach } from 'vitest';
import {
  MOTO_ACCOUNT_ID,
  type MotoOptions,
  type MotoServer,
  MotoStartError,
  startMoto,
} from '../../lambda/emulators/moto';

/**
 * A moto server for the current test file: started in beforeAll (then `seed`, if given), reset before each test
 * unless told otherwise, stopped in afterAll. A failed start fails every test of the file with its message.
 */
export function useMoto(
  options: MotoOptions & { readonly seed?: (endpoint: string) => Promise<void> } = {},
): { readonly endpoint: string } {
  let server: MotoServer | undefined;
  let startError: unknown;
  beforeAll(async () => {
    try {
      server = await startMoto(options);
      // Evidence in the test output (CI logs) that these tests ran against a real moto_server.
      console.info(
        `moto_server listening on ${server.endpoint} (account ${options.accountId ?? MOTO_ACCOUNT_ID})`,
      );
      await options.seed?.(server.endpoint);
    } catch (error) {
      // Rethrown by each test: vitest reports the tests after a failing beforeAll as skipped, never as failed.
      startError = error;
    }
  }, 120_000);
  beforeEach(async () => {
    if (startError !== undefined) throw startError;
    if (options.resetBeforeEach ?? true) await server?.reset();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get endpoint(): string {
      if (server === undefined) throw new MotoStartError('moto_server is not running (did beforeAll fail?)');
      return server.endpoint;
    },
  };
}
