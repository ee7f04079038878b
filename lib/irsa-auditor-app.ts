// Builds the CDK app: the settings from context, one IrsaAuditor stack, and cdk-nag's AWS Solutions checks on
// everything. lib/app.ts runs it for the cdk CLI; the infrastructure tests run it in-process.

import { type App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IrsaAuditorStack } from './irsa-auditor-stack';
import { settingsFromContext } from './settings';

/** The stack's name; one per account and region (stack names are regional). */
export const STACK_NAME = 'IrsaAuditor';

/** The process environment the target account and region come from (the cdk CLI sets them from credentials). */
export type CdkEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * Adds the auditor stack to `app`, configured by its context. Without credentials (CDK_DEFAULT_ACCOUNT and
 * CDK_DEFAULT_REGION unset) the stack is environment-agnostic, so `cdk synth` works offline.
 * Throws InvalidContextError naming every bad context value.
 */
export function addIrsaAuditor(app: App, environment: CdkEnvironment = process.env): IrsaAuditorStack {
  const settings = settingsFromContext((key) => app.node.tryGetContext(key));
  const stack = new IrsaAuditorStack(app, STACK_NAME, {
    settings,
    env: { account: environment.CDK_DEFAULT_ACCOUNT, region: environment.CDK_DEFAULT_REGION },
    description:
      'irsa-auditor: scheduled audit of IAM Roles for Service Accounts on the EKS clusters of this account and region',
  });
  // Errors fail `cdk synth`; every accepted finding is suppressed where it arises, with its reason.
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return stack;
}
