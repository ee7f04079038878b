// Reading a synthesized CloudFormation template in the infrastructure tests: intrinsic functions flattened to
// text ("arn:<AWS::Partition>:eks:..."), and the IAM statements of the function's role (or of any one role).

import { Template } from 'aws-cdk-lib/assertions';

/** A CloudFormation value as text, Ref and Fn::GetAtt written `<AWS::Region>`, `<Bucket.Arn>` (as cdk-nag does). */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === 'string') return `<${record.Ref}>`;
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
    const join = record['Fn::Join'];
    if (Array.isArray(join)) {
      const [delimiter, parts] = join as [string, unknown[]];
      return parts.map(flatten).join(delimiter);
    }
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

/** One IAM policy statement, normalized: lists for actions and resources, resources flattened. */
export interface Statement {
  readonly sid?: string;
  readonly effect: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly condition?: Record<string, Record<string, unknown>>;
}

const list = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

/** The statements of every AWS::IAM::Policy and inline role policy in the template. */
export function iamStatements(template: Template): Statement[] {
  const documents: unknown[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy')))
    documents.push((policy as { Properties: { PolicyDocument: unknown } }).Properties.PolicyDocument);
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    const inline = (role as { Properties: { Policies?: { PolicyDocument: unknown }[] } }).Properties.Policies;
    for (const policy of inline ?? []) documents.push(policy.PolicyDocument);
  }
  return documents.flatMap((document) =>
    list((document as { Statement: unknown }).Statement).map((raw) => {
      const statement = raw as Record<string, unknown>;
      if ('NotAction' in statement || 'NotResource' in statement)
        throw new Error(`NotAction/NotResource in ${JSON.stringify(statement)}`);
      return {
        ...(typeof statement.Sid === 'string' ? { sid: statement.Sid } : {}),
        effect: String(statement.Effect),
        actions: list(statement.Action).map(String),
        resources: list(statement.Resource).map(flatten),
        ...(statement.Condition === undefined
          ? {}
          : { condition: statement.Condition as Record<string, Record<string, unknown>> }),
      };
    }),
  );
}

/** The statements that allow `action`. */
export function statementsAllowing(statements: readonly Statement[], action: string): Statement[] {
  return statements.filter((statement) => statement.effect === 'Allow' && statement.actions.includes(action));
}

/** The only resource of `type` in the template, with its properties. */
export function onlyResource(template: Template, type: string): Record<string, unknown> {
  const resources = Object.values(template.findResources(type));
  if (resources.length !== 1) throw new Error(`expected one ${type}, found ${resources.length}`);
  return (resources[0] as { Properties: Record<string, unknown> }).Properties;
}

/**
 * The statements of the AWS::IAM::Policy resources attached to one role and of its inline policies. The
 * execution ARNs the CDK grants for a Distributed Map take the state machine's name apart with Fn::Select,
 * written `<name>` here.
 */
export function statementsOfRole(template: Template, roleLogicalId: string): Statement[] {
  const attached = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, policy]) =>
    ((policy as { Properties: { Roles?: unknown[] } }).Properties.Roles ?? []).some(
      (role) => flatten(role) === `<${roleLogicalId}>`,
    ),
  );
  const role = template.findResources('AWS::IAM::Role')[roleLogicalId];
  const selectsNamed = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(selectsNamed);
    if (typeof value !== 'object' || value === null) return value;
    if ('Fn::Select' in value) return '<name>';
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, selectsNamed(inner)]));
  };
  const resources = {
    ...Object.fromEntries(attached),
    ...(role === undefined ? {} : { [roleLogicalId]: role }),
  };
  return iamStatements(Template.fromJSON({ Resources: selectsNamed(resources) as object }));
}

/** A CloudWatch dashboard body, as the template holds it (flattened). */
export interface DashboardBody {
  readonly widgets: readonly { readonly type: string; readonly properties: Record<string, unknown> }[];
}

/** Every metric row of every widget: [namespace, name, dimension, value, …, options]. */
export function dashboardMetricRows(body: DashboardBody): unknown[][] {
  return body.widgets.flatMap((widget) => (widget.properties.metrics as unknown[][] | undefined) ?? []);
}

/** The math and SEARCH expressions of every widget. */
export function dashboardExpressions(body: DashboardBody): string[] {
  return dashboardMetricRows(body).flatMap((row) =>
    row.flatMap((item) =>
      typeof item === 'object' && item !== null && 'expression' in item ? [String(item.expression)] : [],
    ),
  );
}
