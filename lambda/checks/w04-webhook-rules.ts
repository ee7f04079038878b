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
    yield {
      resource: { kind: 'MutatingWebhookConfiguration', name: configuration.name },
      key: webhook.name,
      message: `No rule of webhook ${webhook.name} matches CREATE of pods in the core v1 API group, so the API server never asks it to inject credentials into new pods.`,
      evidence: { webhook: webhook.name, rules: webhook.rules.map((r) => ({ ...r })) },
      remediation: `Restore the rule: \`kubectl patch mutatingwebhookconfiguration ${configuration.name} --type json -p '[{"op":"add","path":"/webhooks/${index}/rules/-","value":${rule}}]'\`.`,
    };
  },
};
