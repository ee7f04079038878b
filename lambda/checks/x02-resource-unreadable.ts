import type { Check } from './check';

/** A partial audit must name what it could not read and which checks it therefore skipped. */
export const x02ResourceUnreadable: Check = {
  id: 'IRSA-X02',
  title: 'Every resource type the audit needs could be read.',
  severity: 'high',
  remediation:
    'Grant the auditor read access to the resource (see the ClusterRole it ships), or retry later if it was throttled.',
  needs: [],
  *run(context) {
    for (const error of context.state.collectionErrors) {
      if (error.resource === 'cluster-connection') continue;
      const { name } = context.state.cluster;
      yield {
        resource: { kind: 'Cluster', name },
        key: error.resource,
        message: `The audit of ${name} is partial: ${error.resource} could not be read (${error.reason}), so the checks that need it were skipped.`,
        evidence: { resource: error.resource, reason: error.reason, error: error.message },
        remediation: `Grant the auditor list access to ${error.resource} (${error.reason === 'forbidden' ? 'the API answered 403' : error.reason}), or retry if it was throttled.`,
      };
    }
  },
};
