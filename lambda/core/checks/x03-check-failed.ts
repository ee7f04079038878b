import type { Check } from './check';

export const CHECK_FAILED_ID = 'IRSA-X03';

/** The engine reports a check that threw under this ID; the check itself never fires. */
export const x03CheckFailed: Check = {
  id: CHECK_FAILED_ID,
  title: 'Every check ran to completion.',
  severity: 'high',
  remediation: 'Report the error as a bug in irsa-auditor and verify the skipped check by hand.',
  needs: [],
  run: () => [],
};
