// metav1.LabelSelector matching, as apimachinery's LabelSelectorAsSelector does it for webhook
// namespaceSelector and objectSelector: matchLabels and matchExpressions all AND together.

/** A selector that kube-apiserver would refuse to parse (it then fails the request with InternalError). */
export class InvalidLabelSelectorError extends Error {
  constructor(readonly problem: string) {
    super(`invalid label selector: ${problem}`);
    this.name = 'InvalidLabelSelectorError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The labels of an object's metadata, as a plain map (non-string values are ignored). */
export function labelsOf(object: unknown): Readonly<Record<string, string>> {
  const metadata = isRecord(object) ? object.metadata : undefined;
  const labels = isRecord(metadata) ? metadata.labels : undefined;
  if (!isRecord(labels)) return {};
  return Object.fromEntries(
    Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/** Whether a selector (absent, `null` or `{}` select everything) admits these labels; throws when it is invalid. */
export function labelSelectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || selector === null) return true;
  if (!isRecord(selector)) throw new InvalidLabelSelectorError('the selector is not an object');
  const { matchLabels, matchExpressions } = selector;
  if (matchLabels !== undefined && matchLabels !== null && !isRecord(matchLabels))
    throw new InvalidLabelSelectorError('matchLabels is not a map');
  if (matchExpressions !== undefined && matchExpressions !== null && !Array.isArray(matchExpressions))
    throw new InvalidLabelSelectorError('matchExpressions is not a list');
  let matches = true;
  for (const [key, value] of Object.entries(matchLabels ?? {})) {
    if (typeof value !== 'string')
      throw new InvalidLabelSelectorError(`matchLabels["${key}"] is not a string`);
    if (labels[key] !== value) matches = false;
  }
  for (const expression of (matchExpressions ?? []) as unknown[]) {
    if (!isRecord(expression) || typeof expression.key !== 'string')
      throw new InvalidLabelSelectorError('a matchExpression has no key');
    const values = expression.values ?? [];
    if (!Array.isArray(values) || !values.every((value) => typeof value === 'string'))
      throw new InvalidLabelSelectorError(`values of "${expression.key}" are not strings`);
    const present = Object.hasOwn(labels, expression.key);
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
      case 'NotIn': {
        if (values.length === 0)
          throw new InvalidLabelSelectorError(
            `values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`,
          );
        const member = value !== undefined && values.includes(value);
        // NotIn also admits objects without the key, as labels.Selector does.
        if (expression.operator === 'In' ? !member : member) matches = false;
        break;
      }
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          throw new InvalidLabelSelectorError(
            `values: Forbidden: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`,
          );
        if (expression.operator === 'Exists' ? !present : present) matches = false;
        break;
      default:
        throw new InvalidLabelSelectorError(
          `"${String(expression.operator)}" is not a valid label selector operator`,
        );
    }
  }
  return matches;
}
