// AWS API objects (as the AWS CLI prints them and the SDK returns them) reduced to model records.

import type {
  AccountCluster,
  AccountQuotas,
  AgentAddon,
  ClusterInfo,
  IamRole,
  InstanceProfile,
  NodeInstance,
  OidcProvider,
  PodIdentityAssociation,
  RolePolicy,
} from '../../core/model/cluster-state';
import { accountOfArn, partitionOfArn } from '../../core/policy/arn';
import { parseTrustPolicy, trustPolicySize } from '../../core/policy/trust-policy-parse';
import { parseCertificateBundle } from './certificates';
import {
  asObject,
  at,
  optionalArray,
  optionalBoolean,
  optionalNumber,
  optionalObject,
  optionalString,
  optionalTimestamp,
  requiredString,
  stringArray,
} from './json-shape';

/** The `cluster` member of DescribeCluster. */
export function parseCluster(value: unknown, path: string): ClusterInfo {
  const cluster = asObject(value, path);
  const arn = optionalString(cluster, 'arn', path);
  const identity = optionalObject(cluster, 'identity', path);
  const oidc = identity === undefined ? undefined : optionalObject(identity, 'oidc', at(path, 'identity'));
  const issuer =
    oidc === undefined ? undefined : optionalString(oidc, 'issuer', at(at(path, 'identity'), 'oidc'));
  const ca = optionalObject(cluster, 'certificateAuthority', path);
  const caData = ca === undefined ? undefined : optionalString(ca, 'data', at(path, 'certificateAuthority'));
  const region = arn?.split(':')[3];
  const accountId = arn === undefined ? undefined : accountOfArn(arn);
  const version = optionalString(cluster, 'version', path);
  const status = optionalString(cluster, 'status', path);
  const compute = optionalObject(cluster, 'computeConfig', path);
  const autoMode =
    compute === undefined ? undefined : optionalBoolean(compute, 'enabled', at(path, 'computeConfig'));
  return {
    name: requiredString(cluster, 'name', path),
    ...(arn === undefined ? {} : { arn }),
    ...(region === undefined || region === '' ? {} : { region }),
    ...(accountId === undefined ? {} : { accountId }),
    partition: partitionOfArn(arn),
    ...(issuer === undefined || issuer === '' ? {} : { oidcIssuer: issuer }),
    certificateAuthority: parseCertificateBundle(caData),
    ...(version === undefined ? {} : { version }),
    ...(status === undefined ? {} : { status }),
    ...(autoMode === true ? { autoMode } : {}),
  };
}

/** `aws eks describe-addon` output `{addon}`; `{"addon": null}` records that the add-on is not installed. */
export function parseAgentAddon(value: unknown, path: string): AgentAddon {
  const document = asObject(value, path);
  if (document.addon === null) return { installed: false, issues: [] };
  const addonPath = at(path, 'addon');
  const addon = asObject(document.addon, addonPath);
  const status = optionalString(addon, 'status', addonPath);
  const version = optionalString(addon, 'addonVersion', addonPath);
  const health = optionalObject(addon, 'health', addonPath);
  const issues = (health === undefined ? [] : optionalArray(health, 'issues', at(addonPath, 'health'))).map(
    (issue, index) => {
      const issuePath = at(at(at(addonPath, 'health'), 'issues'), index);
      const entry = asObject(issue, issuePath);
      return `${optionalString(entry, 'code', issuePath) ?? 'Unknown'}: ${optionalString(entry, 'message', issuePath) ?? ''}`.trim();
    },
  );
  return {
    installed: true,
    ...(status === undefined ? {} : { status }),
    ...(version === undefined ? {} : { version }),
    issues,
  };
}

/** A cluster of the account, only as far as needed to recognise its OIDC provider. */
export function parseAccountCluster(value: unknown, path: string): AccountCluster {
  const { name, region, oidcIssuer } = parseCluster(value, path);
  return {
    name,
    ...(region === undefined ? {} : { region }),
    ...(oidcIssuer === undefined ? {} : { oidcIssuer }),
  };
}

/** GetOpenIDConnectProvider output merged with its ARN (the hand-capture jq does the same). */
export function parseOidcProvider(value: unknown, path: string): OidcProvider {
  const provider = asObject(value, path);
  return {
    arn: requiredString(provider, 'Arn', path),
    url: requiredString(provider, 'Url', path),
    clientIds: stringArray(provider, 'ClientIDList', path),
    thumbprints: stringArray(provider, 'ThumbprintList', path),
  };
}

/** A role from ListRoles or GetRole; a trust policy that cannot be parsed is kept as an error, not thrown. */
export function parseRole(value: unknown, path: string): IamRole {
  const role = asObject(value, path);
  const arn = requiredString(role, 'Arn', path);
  const document = role.AssumeRolePolicyDocument;
  const parsed =
    document === undefined
      ? { error: 'the role has no AssumeRolePolicyDocument' }
      : parseTrustPolicy(document);
  return {
    arn,
    name: requiredString(role, 'RoleName', path),
    path: optionalString(role, 'Path', path) ?? '/',
    accountId: accountOfArn(arn) ?? '',
    ...('policy' in parsed ? { trustPolicy: parsed.policy } : { trustPolicyError: parsed.error }),
    trustPolicySize: trustPolicySize(document),
  };
}

/**
 * One permissions policy of a role: GetRolePolicy's output (`RoleName`, `PolicyName`, `PolicyDocument`), or an
 * attached managed policy's default version with its `PolicyArn` (what the README's capture command writes).
 */
export function parseRolePolicy(value: unknown, path: string): RolePolicy {
  const object = asObject(value, path);
  const policyArn = optionalString(object, 'PolicyArn', path);
  const document = object.PolicyDocument;
  const parsed =
    document === undefined ? { error: 'the policy has no PolicyDocument' } : parseTrustPolicy(document);
  return {
    roleName: requiredString(object, 'RoleName', path),
    policyName: requiredString(object, 'PolicyName', path),
    ...(policyArn === undefined ? {} : { policyArn }),
    ...('policy' in parsed
      ? { document: parsed.policy }
      : { documentError: parsed.error.replace(/^trust policy/, 'policy document') }),
  };
}

/** One instance of DescribeInstances (`Reservations[].Instances[]`). */
export function parseNodeInstance(value: unknown, path: string): NodeInstance {
  const instance = asObject(value, path);
  const options = optionalObject(instance, 'MetadataOptions', path);
  const optionsPath = at(path, 'MetadataOptions');
  const profile = optionalObject(instance, 'IamInstanceProfile', path);
  const fields = {
    httpTokens: options === undefined ? undefined : optionalString(options, 'HttpTokens', optionsPath),
    hopLimit:
      options === undefined ? undefined : optionalNumber(options, 'HttpPutResponseHopLimit', optionsPath),
    httpEndpoint: options === undefined ? undefined : optionalString(options, 'HttpEndpoint', optionsPath),
    instanceProfileArn:
      profile === undefined ? undefined : optionalString(profile, 'Arn', at(path, 'IamInstanceProfile')),
  };
  return {
    instanceId: requiredString(instance, 'InstanceId', path),
    nodeName: requiredString(instance, 'PrivateDnsName', path),
    ...Object.fromEntries(Object.entries(fields).filter(([, field]) => field !== undefined)),
  };
}

/** One instance profile, as GetInstanceProfile's `InstanceProfile` or an item of ListInstanceProfiles. */
export function parseInstanceProfile(value: unknown, path: string): InstanceProfile {
  const profile = asObject(value, path);
  const roles = optionalArray(profile, 'Roles', path).map((role, index) =>
    requiredString(asObject(role, at(at(path, 'Roles'), index)), 'Arn', at(at(path, 'Roles'), index)),
  );
  return { arn: requiredString(profile, 'Arn', path), roleArns: roles };
}

/** The output of GetAccountSummary (`aws iam get-account-summary`): the quotas the checks use from its SummaryMap. */
export function parseAccountSummary(value: unknown, path: string): AccountQuotas {
  const summary = asObject(asObject(value, path).SummaryMap, at(path, 'SummaryMap'));
  const size = optionalNumber(summary, 'AssumeRolePolicySizeQuota', at(path, 'SummaryMap'));
  return size === undefined ? {} : { assumeRolePolicySizeQuota: size };
}

/** The `association` member of DescribePodIdentityAssociation. */
export function parsePodIdentityAssociation(value: unknown, path: string): PodIdentityAssociation {
  const association = asObject(value, path);
  const optional = {
    associationArn: optionalString(association, 'associationArn', path),
    targetRoleArn: optionalString(association, 'targetRoleArn', path),
    externalId: optionalString(association, 'externalId', path),
    disableSessionTags: optionalBoolean(association, 'disableSessionTags', path),
    policy: optionalString(association, 'policy', path),
    ownerArn: optionalString(association, 'ownerArn', path),
    createdAt: optionalTimestamp(association, 'createdAt', path),
    modifiedAt: optionalTimestamp(association, 'modifiedAt', path),
  };
  return {
    associationId: requiredString(association, 'associationId', path),
    namespace: requiredString(association, 'namespace', path),
    serviceAccount: requiredString(association, 'serviceAccount', path),
    roleArn: requiredString(association, 'roleArn', path),
    // An empty string is how the CLI prints an unset target role or external ID.
    ...Object.fromEntries(
      Object.entries(optional).filter(([, field]) => field !== undefined && field !== ''),
    ),
  };
}
