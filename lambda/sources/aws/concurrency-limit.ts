// A counting semaphore for SDK calls: small enough that a dependency (p-limit) is not worth it.

/** Runs tasks with at most a fixed number in flight; the others wait in arrival order. */
export interface ConcurrencyLimit {
  run<T>(task: () => Promise<T>): Promise<T>;
}

/** A limit of `maxInFlight` concurrent tasks; wrap single calls only, never a task that waits on another. */
export function createConcurrencyLimit(maxInFlight: number): ConcurrencyLimit {
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${maxInFlight}`);
  }
  let active = 0;
  const waiting: (() => void)[] = [];
  const acquire = async (): Promise<void> => {
    if (active < maxInFlight) {
      active += 1;
      return;
    }
    // The releasing task hands its slot over directly, so `active` does not change.
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) active -= 1;
    else next();
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      await acquire();
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
