// One readable line from anything thrown: the audit puts errors into findings, logs and CLI output,
// never multi-line stack traces.

/** The first line of an error's message (or of its string form). */
export function firstLineOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0] ?? text;
}

/** The first line of `Name: message`, for errors whose class says what failed (e.g. AccessDeniedException). */
export function namedFirstLineOf(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split('\n', 1)[0] ?? text;
}
