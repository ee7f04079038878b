// Kubernetes label selector semantics (apimachinery labels.Selector), for webhook selectors.

import type { LabelSelector, Labels } from '../model/cluster-state';

/** Whether labels satisfy a selector; an absent selector, like an empty one, matches everything. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (labels[key] !== value) return false;
  }
  return selector.matchExpressions.every((requirement) => {
    const present = Object.hasOwn(labels, requirement.key);
    const value = labels[requirement.key];
    switch (requirement.operator) {
      case 'In':
        return present && requirement.values.includes(value ?? '');
      case 'NotIn':
        return !present || !requirement.values.includes(value ?? '');
      case 'Exists':
        return present;
      case 'DoesNotExist':
        return !present;
      default:
        // The API server rejects unknown operators, so such a selector matches nothing.
        return false;
    }
  });
}

/** A selector as people write it: `a=b,c notin (x,y),!d`. */
export function describeSelector(selector: LabelSelector | undefined): string {
  if (selector === undefined) return '(none)';
  const parts = [
    ...Object.entries(selector.matchLabels).map(([key, value]) => `${key}=${value}`),
    ...selector.matchExpressions.map((requirement) => {
      const values = `(${requirement.values.join(',')})`;
      switch (requirement.operator) {
        case 'In':
          return `${requirement.key} in ${values}`;
        case 'NotIn':
          return `${requirement.key} notin ${values}`;
        case 'Exists':
          return requirement.key;
        case 'DoesNotExist':
          return `!${requirement.key}`;
        default:
          return `${requirement.key} ${requirement.operator} ${values}`;
      }
    }),
  ];
  return parts.length === 0 ? '(matches everything)' : parts.join(',');
}
