// One readable line from anything thrown: the audit puts errors into findings, logs and CLI output,
// never multi-line stack traces. Every error in the product is rendered here, its differences as options.

/** How errorText renders an error; with no options, the first line of its message. */
export interface ErrorTextOptions {
  /** Start with the error's name (`AccessDeniedException: …`), for errors whose class says what failed. */
  readonly named?: boolean;
  /** End with the HTTP status an AWS SDK error records in `$metadata` (` (HTTP 403)`). */
  readonly httpStatus?: boolean;
  /**
   * `first` (the default) keeps the first line; `joined` keeps every line, each run of whitespace made one
   * space, for messages whose end matters; `all` keeps the text as thrown, for evidence that stores it beside
   * a one-line message.
   */
  readonly lines?: 'first' | 'joined' | 'all';
  /** Cuts a longer text to this many characters, the last one an ellipsis. */
  readonly maxLength?: number;
}

// Read structurally, so that an error from another realm or an SDK error object reads like an Error.
interface ErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/** Anything thrown as text, shaped by the options; never throws, not even for a value that cannot be printed. */
export function errorText(error: unknown, options: ErrorTextOptions = {}): string {
  try {
    return render(error, options);
  } catch {
    // String() itself throws for an object without a prototype, or with a throwing toString or getter.
    return `a thrown ${Object.prototype.toString.call(error).slice(8, -1)} that cannot be printed`;
  }
}

function render(error: unknown, options: ErrorTextOptions): string {
  const shape: ErrorShape = typeof error === 'object' && error !== null ? error : {};
  const text = linesOf(textOf(error, shape, options.named === true), options.lines ?? 'first');
  const status = shape.$metadata?.httpStatusCode;
  const withStatus =
    options.httpStatus === true && typeof status === 'number' ? `${text} (HTTP ${status})` : text;
  const { maxLength } = options;
  return maxLength !== undefined && withStatus.length > maxLength
    ? `${withStatus.slice(0, maxLength - 1)}…`
    : withStatus;
}

function textOf(error: unknown, shape: ErrorShape, named: boolean): string {
  const name = typeof shape.name === 'string' && shape.name !== '' ? shape.name : undefined;
  if (typeof shape.message !== 'string') return String(error);
  // An error without a message still says what it is by its name (`new RangeError()`).
  if (shape.message === '') return name ?? String(error);
  return named && name !== undefined ? `${name}: ${shape.message}` : shape.message;
}

function linesOf(text: string, lines: 'first' | 'joined' | 'all'): string {
  if (lines === 'all') return text;
  if (lines === 'joined') return text.replace(/\s+/g, ' ').trim();
  return text.split('\n', 1)[0] ?? text;
}
