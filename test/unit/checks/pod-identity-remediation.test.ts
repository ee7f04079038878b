// The commands IRSA-S13 prints must be the ones EKS accepts: an association an add-on owns is changed
// through the add-on (EKS refuses update-pod-identity-association on it), any other one directly.

import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../lambda/core/checks/registry';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { PodIdentityAssociation } from '../../../lambda/core/model/cluster-state';
import { optionsOf } from '../../support/check-fixture';
import { healthyState, ordersApiAssociation } from '../../support/state-builder';

const ADDON_OWNER =
  'arn:aws:eks:eu-west-1:111122223333:addon/platform-prod/aws-ebs-csi-driver/e6c9a1f2-0b4d-4c3e-9f7a-5d2b8e1c6a40';

function s13Remediation(association: PodIdentityAssociation): string | undefined {
  const state = healthyState({ podIdentityAssociations: [association] });
  const result = auditCluster(state, optionsOf({ state }), CHECKS);
  return result.report.findings.find((finding) => finding.check === 'IRSA-S13')?.remediation;
}

describe('IRSA-S13 remediation', () => {
  it('repoints an add-on-owned association through aws eks update-addon', () => {
    const remediation = s13Remediation(
      ordersApiAssociation({
        namespace: 'kube-system',
        serviceAccount: 'ebs-csi-controller-sa',
        ownerArn: ADDON_OWNER,
      }),
    );

    expect(remediation).toContain(
      '`aws eks update-addon --cluster-name platform-prod --addon-name aws-ebs-csi-driver --pod-identity-associations serviceAccount=ebs-csi-controller-sa,roleArn=<existing role ARN>`',
    );
    expect(remediation).not.toContain('update-pod-identity-association');
  });

  it('repoints any other association with aws eks update-pod-identity-association', () => {
    const remediation = s13Remediation(ordersApiAssociation());

    expect(remediation).toContain(
      '`aws eks update-pod-identity-association --cluster-name platform-prod --association-id a-3kq9xw2vbn7yplm4t --role-arn <existing role ARN>`',
    );
  });
});
