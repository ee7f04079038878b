import type { RuleWithOperations } from '../model/cluster-state';
import type { Check } from './check';

const covers = (values: readonly string[], wanted: string) => values.includes(wanted) || values.includes('*');

/** Whether a rule sends CREATE of core v1 pods to the webhook (sub-resources such as pods/exec do not count). */
export function ruleMatchesPodCreate(rule: RuleWithOperations): boolean {
  return (
    covers(rule.operations, 'CREATE') &&
    covers(rule.apiGroups, '') &&
    covers(rule.apiVersions, 'v1') &&
    (rule.resources.includes('pods') || rule.resources.includes('*') || rule.resources.includes('*/*')) &&
    (rule.scope === undefined || rule.scope === '*' || rule.scope === 'Namespaced')
  );
}

/** A rule as people read it: `UPDATE pods in core/v1`. */
function describeRule(rule: RuleWithOperations): string {
  const list = (values: readonly string[]) => (values.length === 0 ? '(none)' : values.join('|'));
  const groups = rule.apiGroups.map((group) => (group === '' ? 'core' : group));
  const scope = rule.scope === undefined || rule.scope === '*' ? '' : ` (scope ${rule.scope})`;
  return `${list(rule.operations)} ${list(rule.resources)} in ${list(groups)}/${list(rule.apiVersions)}${scope}`;
}

/** The webhook only mutates what its rules send it: pod CREATE must be among them. */
export const w04WebhookRules: Check = {
  id: 'IRSA-W04',
  title: 'The webhook rules match CREATE of pods in the core v1 API group.',
  severity: 'critical',
  remediation:
    'Restore the rule apiGroups [""], apiVersions ["v1"], operations ["CREATE"], resources ["pods"].',
  needs: ['mutatingWebhookConfigurations'],
  *run(context) {
    const located = context.webhook;
    if (located === undefined) return;
    const { configuration, webhook } = located;
    if (webhook.rules.some(ruleMatchesPodCreate)) return;
    const index = configuration.webhooks.indexOf(webhook);
    const rule =
      '{"apiGroups":[""],"apiVersions":["v1"],"operations":["CREATE"],"resources":["pods"],"scope":"*"}';
    // JSON patch cannot append to an absent array, so an empty rule list is replaced as a whole.
    const operation =
      webhook.rules.length === 0
        ? `{"op":"add","path":"/webhooks/${index}/rules","value":[${rule}]}`
        : `{"op":"add","path":"/webhooks/${index}/rules/-","value":${rule}}`;
    const found =
      webhook.rules.length === 0
        ? 'it has no rules'
        : `its rules are: ${webhook.rules.map(describeRule).join('; ')}`;
    yield {
      resource: { kind: 'MutatingWebhookConfiguration', name: configuration.name },
      key: webhook.name,
      message: `No rule of webhook ${webhook.name} matches CREATE of pods in the core v1 API group (${found}), so the API server never asks it to inject credentials into new pods.`,
      evidence: { webhook: webhook.name, rules: webhook.rules.map((r) => ({ ...r })) },
      remediation: `Restore the rule: \`kubectl patch mutatingwebhookconfiguration ${configuration.name} --type json -p '[${operation}]'\`.`,
    };
  },
};
