// Builds the CDK app: the settings from context, the stacks of the chosen mode (single: one IrsaAuditor stack;
// organization: IrsaAuditorOrganization and IrsaAuditorMember), and cdk-nag's AWS Solutions checks on
// everything. lib/app.ts runs it for the cdk CLI; the infrastructure tests run it in-process.

import { type App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IrsaAuditorStack } from './irsa-auditor-stack';
import { MemberAccountStack } from './member-account-stack';
import { OrganizationStack } from './organization-stack';
import {
  type AuditorSettings,
  appSettingsFromContext,
  CONTEXT_KEYS,
  type ContextReader,
  InvalidContextError,
  type OrganizationSettings,
  settingsFromContext,
} from './settings';

/** The stack's name; one per account and region (stack names are regional). */
export const STACK_NAME = 'IrsaAuditor';
/** Organization mode's auditor stack, deployed once in the auditor account. */
export const ORGANIZATION_STACK_NAME = 'IrsaAuditorOrganization';
/** Organization mode's member stack, deployed in every audited account (cdk deploy or StackSet). */
export const MEMBER_STACK_NAME = 'IrsaAuditorMember';

/** The process environment the target account and region come from (the cdk CLI sets them from credentials). */
export type CdkEnvironment = Readonly<Record<string, string | undefined>>;

/** Organization mode's two stacks. */
export interface OrganizationStacks {
  readonly organization: OrganizationStack;
  readonly member: MemberAccountStack;
}

/**
 * Adds the stacks of the mode the context asks for (`mode`, default single) to `app`. Throws
 * InvalidContextError naming every bad context value.
 */
export function addAuditorApp(
  app: App,
  environment: CdkEnvironment = process.env,
): IrsaAuditorStack | OrganizationStacks {
  const chosen = appSettingsFromContext(contextOf(app), environment);
  const added =
    chosen.mode === 'single'
      ? singleStack(app, chosen.settings, environment)
      : organizationStacks(app, chosen.settings, environment);
  addChecks(app);
  return added;
}

/**
 * Adds the single-account auditor stack to `app`, configured by its context. Without credentials
 * (CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION unset) the stack is environment-agnostic, so `cdk synth` works
 * offline. Throws InvalidContextError naming every bad context value.
 */
export function addIrsaAuditor(app: App, environment: CdkEnvironment = process.env): IrsaAuditorStack {
  const stack = singleStack(app, settingsFromContext(contextOf(app)), environment);
  addChecks(app);
  return stack;
}

/**
 * Adds organization mode's stacks to `app`; the context must say `mode=organization`. The organization stack
 * gets the CLI's account and region like the single stack; the member stack never does, so its template
 * deploys in any account (and as a StackSet). Throws InvalidContextError naming every bad context value.
 */
export function addOrganizationAuditor(
  app: App,
  environment: CdkEnvironment = process.env,
): OrganizationStacks {
  const chosen = appSettingsFromContext(contextOf(app), environment);
  if (chosen.mode !== 'organization')
    throw new InvalidContextError([
      {
        key: CONTEXT_KEYS.mode,
        value: app.node.tryGetContext(CONTEXT_KEYS.mode),
        reason: 'must be organization for the organization stacks',
      },
    ]);
  const stacks = organizationStacks(app, chosen.settings, environment);
  addChecks(app);
  return stacks;
}

function contextOf(app: App): ContextReader {
  return (key) => app.node.tryGetContext(key);
}

function singleStack(app: App, settings: AuditorSettings, environment: CdkEnvironment): IrsaAuditorStack {
  return new IrsaAuditorStack(app, STACK_NAME, {
    settings,
    env: { account: environment.CDK_DEFAULT_ACCOUNT, region: environment.CDK_DEFAULT_REGION },
    description:
      'irsa-auditor: scheduled audit of IAM Roles for Service Accounts on the EKS clusters of this account and region',
  });
}

function organizationStacks(
  app: App,
  settings: OrganizationSettings,
  environment: CdkEnvironment,
): OrganizationStacks {
  return {
    organization: new OrganizationStack(app, ORGANIZATION_STACK_NAME, {
      settings,
      env: { account: environment.CDK_DEFAULT_ACCOUNT, region: environment.CDK_DEFAULT_REGION },
      description:
        'irsa-auditor organization mode: scheduled IRSA audit of every EKS cluster in the configured accounts and regions (Step Functions Distributed Map)',
    }),
    member: new MemberAccountStack(app, MEMBER_STACK_NAME, {
      settings,
      description:
        'irsa-auditor organization mode, member account: the read-only role the auditor assumes, and EKS access entries for it',
    }),
  };
}

// Errors fail `cdk synth`; every accepted finding is suppressed where it arises, with its reason.
function addChecks(app: App): void {
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
}
