// The shape of a check fixture under test/fixtures/checks/<check-id>/{pass,fail}.<why>.ts.

import type { AuditOptions } from '../../lambda/core/analysis/context';
import type { ClusterState } from '../../lambda/core/model/cluster-state';
import type { Severity } from '../../lambda/core/model/finding';
import { NOW } from './state-builder';

/** A finding a fail fixture expects: the resource as `Kind namespace/name` or `Kind name`, and its severity. */
export interface ExpectedFinding {
  readonly resource: string;
  readonly severity?: Severity;
  /** A phrase the message must contain (e.g. the wrong value), to show the finding explains itself. */
  readonly mentions?: string;
}

export interface CheckFixture {
  readonly state: ClusterState;
  readonly options?: Partial<AuditOptions>;
  /** For fail fixtures: exactly the findings the check yields, in any order. Pass fixtures expect none. */
  readonly expected?: readonly ExpectedFinding[];
}

export function fixture(value: CheckFixture): CheckFixture {
  return value;
}

export function optionsOf(value: CheckFixture): AuditOptions {
  return { now: NOW, webhookName: 'iam-for-pods.amazonaws.com', ...value.options };
}
