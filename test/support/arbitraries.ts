// fast-check generators for robustness tests: the shipped example snapshots with random damage,
// near-valid IAM trust policies and role ARNs, and whole ClusterStates with hostile values.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type {
  Certificate,
  CertificateBundle,
  ClusterState,
  CollectionError,
  Container,
  IamRole,
  LabelSelector,
  MutatingWebhook,
  MutatingWebhookConfiguration,
  Pod,
  ResourceType,
} from '../../lambda/core/model/cluster-state';
import { parseTrustPolicy } from '../../lambda/core/policy/trust-policy-parse';
import {
  SNAPSHOT_FILES,
  type SnapshotDocuments,
  type SnapshotPart,
} from '../../lambda/sources/snapshot/snapshot';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/A4E495557AFE63D596EDE7FE7A7F225E';
export const OLD_ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F5A';
export const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`;
export const OLD_PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${OLD_ISSUER}`;
export const WEBHOOK_NAME = 'iam-for-pods.amazonaws.com';
export const TOKEN_DIRECTORY = '/var/run/secrets/eks.amazonaws.com/serviceaccount';

/** A property's run count; FC_NUM_RUNS overrides it for a longer exploratory run. */
export function runs(count: number): number {
  const override = Number(process.env.FC_NUM_RUNS);
  return Number.isInteger(override) && override > 0 ? override : count;
}

// ---------------------------------------------------------------------------------------------
// The shipped example snapshots, as the parsed JSON of each file.

export type ExampleName = 'healthy' | 'blog-incident';

const examples = new Map<ExampleName, SnapshotDocuments>();

// Read once per example: generators draw from the examples hundreds of times per property.
function readExample(example: ExampleName): SnapshotDocuments {
  const cached = examples.get(example);
  if (cached !== undefined) return cached;
  const documents: Partial<Record<SnapshotPart, unknown>> = {};
  for (const [part, { file }] of Object.entries(SNAPSHOT_FILES) as [SnapshotPart, { file: string }][]) {
    const url = new URL(`../../examples/${example}/${file}`, import.meta.url);
    try {
      documents[part] = JSON.parse(readFileSync(url, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  examples.set(example, documents);
  return documents;
}

/** The parsed JSON of every file of an example snapshot under examples/ (a fresh copy each call). */
export function exampleDocuments(example: ExampleName): SnapshotDocuments {
  return structuredClone(readExample(example));
}

/** The real cluster CA of the healthy example, as PEM text. */
export function examplePem(): string {
  const cluster = (
    exampleDocuments('healthy').cluster as { cluster: { certificateAuthority: { data: string } } }
  ).cluster;
  return Buffer.from(cluster.certificateAuthority.data, 'base64').toString('utf8');
}

/** A second, different real certificate: the caBundle of the load balancer webhook in the healthy example. */
export function otherExamplePem(): string {
  const list = exampleDocuments('healthy').mutatingWebhookConfigurations as {
    items: { webhooks: { clientConfig: { caBundle: string } }[] }[];
  };
  const caBundle = list.items[0]?.webhooks[0]?.clientConfig.caBundle ?? '';
  return Buffer.from(caBundle, 'base64').toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Damage to JSON objects: the ways real snapshots go wrong (hand edits, version skew, truncation).

/** Member names that trip naive JavaScript (prototype keys, dots, quotes, newlines). */
export const awkwardKey = fc.constantFrom(
  'toString',
  'valueOf',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '',
  'a.b',
  'with space',
  'new\nline',
  '"quoted"',
  '0',
);

/** A JSON object whose members cannot be turned into a string by `String()` or a template literal. */
export const unprintableObject = fc.constantFrom<unknown>(
  JSON.parse('{"toString": 1}'),
  JSON.parse('{"toString": null, "valueOf": null}'),
  JSON.parse('{"__proto__": {"toString": 1}}'),
);

/** A JSON value of a type that is wrong almost anywhere in a Kubernetes or IAM object. */
export const wrongTypedValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 12 }),
  fc.constant(''),
  fc.constant([]),
  fc.constant({}),
  fc.constant([null]),
  unprintableObject,
  fc.jsonValue({ maxDepth: 2 }),
);

export type Mutation =
  | { readonly kind: 'delete'; readonly at: number }
  | { readonly kind: 'replace'; readonly at: number; readonly value: unknown }
  | { readonly kind: 'stringify'; readonly at: number }
  | { readonly kind: 'wrap-in-array'; readonly at: number }
  | { readonly kind: 'array-to-object'; readonly at: number }
  | { readonly kind: 'add-member'; readonly at: number; readonly key: string; readonly value: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: wrongTypedValue }),
  fc.record({ kind: fc.constant('stringify' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('wrap-in-array' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('array-to-object' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('add-member' as const),
    at: fc.nat(),
    key: fc.oneof(awkwardKey, fc.string({ maxLength: 8 })),
    value: wrongTypedValue,
  }),
);

type JsonContainer = Record<string, unknown> | unknown[];

interface Location {
  readonly parent: JsonContainer;
  readonly key: string | number;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// Assignment to a `__proto__` member would change the prototype instead of adding a member, as JSON.parse does.
function setMember(parent: JsonContainer, key: string | number, value: unknown): void {
  if (Array.isArray(parent)) parent[key as number] = value;
  else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
}

function locationsOf(root: JsonContainer): Location[] {
  const found: Location[] = [];
  const visit = (container: JsonContainer) => {
    const keys: (string | number)[] = Array.isArray(container)
      ? container.map((_, i) => i)
      : Object.keys(container);
    for (const key of keys) {
      found.push({ parent: container, key });
      const child = (container as Record<string | number, unknown>)[key];
      if (Array.isArray(child) || isPlainObject(child)) visit(child);
    }
  };
  visit(root);
  return found;
}

/** Applies damage to a deep copy of a JSON value; each mutation picks a member anywhere in the tree. */
export function damage(value: unknown, mutations: readonly Mutation[]): unknown {
  const root: Record<string, unknown> = { value: structuredClone(value) };
  for (const change of mutations) {
    const locations = locationsOf(root);
    const location = locations[change.at % locations.length];
    if (location === undefined) continue;
    const { parent, key } = location;
    const current = (parent as Record<string | number, unknown>)[key];
    switch (change.kind) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
        break;
      case 'replace':
        setMember(parent, key, structuredClone(change.value));
        break;
      case 'stringify':
        setMember(parent, key, JSON.stringify(current) ?? 'undefined');
        break;
      case 'wrap-in-array':
        setMember(parent, key, [current]);
        break;
      case 'array-to-object':
        setMember(parent, key, Array.isArray(current) ? { ...current } : current);
        break;
      case 'add-member':
        if (isPlainObject(current)) setMember(current, change.key, structuredClone(change.value));
        else setMember(parent, key, { [change.key]: structuredClone(change.value) });
        break;
    }
  }
  return root.value;
}

// ---------------------------------------------------------------------------------------------
// Damaged snapshots built from the examples.

/** Each list file of a snapshot and the member that holds its list. */
export const LIST_MEMBERS = {
  oidcProviders: 'OpenIDConnectProviders',
  roles: 'Roles',
  serviceAccounts: 'items',
  pods: 'items',
  mutatingWebhookConfigurations: 'items',
  namespaces: 'items',
  podIdentityAssociations: 'associations',
  accountClusters: 'clusters',
  nodeInstances: 'Instances',
  instanceProfiles: 'InstanceProfiles',
} as const satisfies Partial<Record<SnapshotPart, string>>;

export type ListPart = keyof typeof LIST_MEMBERS;

// Items of the optional files the examples do not have, as `aws ec2 describe-instances` and
// `aws iam list-instance-profiles` print them.
const VALID_INSTANCES = [
  {
    InstanceId: 'i-0a1b2c3d4e5f60718',
    PrivateDnsName: 'ip-10-42-11-87.eu-west-1.compute.internal',
    IamInstanceProfile: {
      Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/platform-prod-node`,
      Id: 'AIPAEXAMPLE1',
    },
    MetadataOptions: {
      State: 'applied',
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
      HttpEndpoint: 'enabled',
    },
  },
  {
    InstanceId: 'i-0f9e8d7c6b5a49382',
    PrivateDnsName: 'ip-10-42-12-14.eu-west-1.compute.internal',
    MetadataOptions: {
      State: 'applied',
      HttpTokens: 'optional',
      HttpPutResponseHopLimit: 1,
      HttpEndpoint: 'enabled',
    },
  },
];
const VALID_PROFILES = [
  {
    InstanceProfileName: 'platform-prod-node',
    Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/platform-prod-node`,
    Roles: [
      { RoleName: 'platform-prod-node-role', Arn: `arn:aws:iam::${ACCOUNT}:role/platform-prod-node-role` },
    ],
  },
];

const VALID_ASSOCIATIONS = [
  {
    clusterName: 'platform-prod',
    namespace: 'payments',
    serviceAccount: 'orders-api',
    roleArn: `arn:aws:iam::${ACCOUNT}:role/orders-api`,
    associationArn: `arn:aws:eks:eu-west-1:${ACCOUNT}:podidentityassociation/platform-prod/a-0123456789abcdef0`,
    associationId: 'a-0123456789abcdef0',
    tags: {},
  },
  {
    clusterName: 'platform-prod',
    namespace: 'data',
    serviceAccount: 'etl-runner',
    roleArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/etl-runner`,
    associationId: 'a-0fedcba9876543210',
  },
];

/** A damaged list file: which of its items are untouched copies of example items. */
export interface DamagedList {
  readonly items: readonly unknown[];
  /** Indexes (in `items`) of items copied unchanged from the example. */
  readonly pristine: ReadonlySet<number>;
}

/** A snapshot whose lists hold example items, damaged items and junk, with the pristine ones known. */
export interface DamagedSnapshot {
  readonly example: ExampleName;
  readonly documents: SnapshotDocuments;
  readonly lists: Readonly<Partial<Record<ListPart, DamagedList>>>;
}

const itemPlan = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ source: fc.nat(), mutations: fc.constant<Mutation[]>([]) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        source: fc.nat(),
        mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ junk: wrongTypedValue }) },
  ),
  { maxLength: 8 },
);

function damagedList(
  pool: readonly unknown[],
  plan: readonly ({ source: number; mutations: Mutation[] } | { junk: unknown })[],
): DamagedList {
  const items: unknown[] = [];
  const pristine = new Set<number>();
  for (const step of plan) {
    if ('junk' in step || pool.length === 0) {
      items.push('junk' in step ? structuredClone(step.junk) : null);
      continue;
    }
    const source = pool[step.source % pool.length];
    if (step.mutations.length === 0) pristine.add(items.length);
    items.push(step.mutations.length === 0 ? structuredClone(source) : damage(source, step.mutations));
  }
  return { items, pristine };
}

const VALID_POOLS: Partial<Record<ListPart, readonly unknown[]>> = {
  podIdentityAssociations: VALID_ASSOCIATIONS,
  nodeInstances: VALID_INSTANCES,
  instanceProfiles: VALID_PROFILES,
};

const listOf = (document: unknown, member: string): readonly unknown[] => {
  const list = isPlainObject(document) ? document[member] : undefined;
  return Array.isArray(list) ? list : [];
};

/** Snapshots built from both examples, each list file replaced by a mix of intact, damaged and junk items. */
export const damagedSnapshot: fc.Arbitrary<DamagedSnapshot> = fc
  .record({
    example: fc.constantFrom<ExampleName>('healthy', 'blog-incident'),
    plans: fc.record({
      oidcProviders: itemPlan,
      roles: itemPlan,
      serviceAccounts: itemPlan,
      pods: itemPlan,
      mutatingWebhookConfigurations: itemPlan,
      namespaces: fc.option(itemPlan, { nil: undefined }),
      podIdentityAssociations: fc.option(itemPlan, { nil: undefined }),
      accountClusters: fc.option(itemPlan, { nil: undefined }),
      nodeInstances: fc.option(itemPlan, { nil: undefined }),
      instanceProfiles: fc.option(itemPlan, { nil: undefined }),
    }),
    clusterMutations: fc.oneof(
      { weight: 4, arbitrary: fc.constant<Mutation[]>([]) },
      { weight: 1, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }) },
    ),
  })
  .map(({ example, plans, clusterMutations }) => {
    const base = readExample(example);
    const documents: Partial<Record<SnapshotPart, unknown>> = {
      cluster:
        clusterMutations.length === 0 ? structuredClone(base.cluster) : damageCluster(base, clusterMutations),
    };
    const lists: Partial<Record<ListPart, DamagedList>> = {};
    for (const part of Object.keys(LIST_MEMBERS) as ListPart[]) {
      const plan = plans[part];
      if (plan === undefined) continue;
      const member = LIST_MEMBERS[part];
      const pool = VALID_POOLS[part] ?? listOf(base[part], member);
      const list = damagedList(pool, plan);
      lists[part] = list;
      documents[part] = { ...(isPlainObject(base[part]) ? base[part] : {}), [member]: list.items };
    }
    return { example, documents, lists };
  });

// Damage inside the `cluster` member only, so that the file keeps its `{"cluster": ...}` shape.
function damageCluster(base: SnapshotDocuments, mutations: readonly Mutation[]): unknown {
  const document = isPlainObject(base.cluster) ? base.cluster : {};
  return { cluster: damage(document.cluster, mutations) };
}

/** Whole files of the wrong shape: the document or its list member replaced by a value of another type. */
export const wholeFileDamage = fc.record({
  part: fc.constantFrom(...(Object.keys(SNAPSHOT_FILES) as SnapshotPart[])),
  replaceDocument: fc.boolean(),
  value: wrongTypedValue,
});

// ---------------------------------------------------------------------------------------------
// Role ARNs.

export const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;

const iamNameCharacter = fc.constantFrom(
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-'.split(''),
);

/** The parts of a valid IAM role ARN; `path` is `/` or `/a/b/`. */
export interface RoleArnParts {
  readonly partition: string;
  readonly accountId: string;
  readonly path: string;
  readonly name: string;
}

export const roleArnParts: fc.Arbitrary<RoleArnParts> = fc.record({
  partition: fc.constantFrom(...PARTITIONS),
  accountId: fc.stringMatching(/^\d{12}$/),
  path: fc
    .array(fc.string({ unit: iamNameCharacter, minLength: 1, maxLength: 12 }), { maxLength: 4 })
    .map((segments) => (segments.length === 0 ? '/' : `/${segments.join('/')}/`)),
  name: fc.string({ unit: iamNameCharacter, minLength: 1, maxLength: 64 }),
});

export const roleArnOf = ({ partition, accountId, path, name }: RoleArnParts): string =>
  `arn:${partition}:iam::${accountId}:role${path}${name}`;

/** What people paste around an ARN in YAML: quotes of any kind and any whitespace, possibly nested. */
export const arnWrapping = fc
  .array(
    fc.record({
      before: fc.constantFrom<string>('"', "'", '`', ' ', '\t', '\n', '\u00a0', '\r\n', ''),
      after: fc.constantFrom<string>('"', "'", '`', ' ', '\t', '\n', '\u00a0', '\r\n', ''),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .filter((layers) => layers.some(({ before, after }) => before !== '' || after !== ''));

/** Annotation values seen in the wild: valid ARNs, near misses, and noise. */
export const roleArnText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      `arn:aws:iam::${ACCOUNT}:role/orders-api`,
      `arn:aws:iam::${ACCOUNT}:role/team/etl-runner`,
      `arn:aws:iam::${OTHER_ACCOUNT}:role/etl-runner`,
    ),
  },
  { weight: 2, arbitrary: roleArnParts.map(roleArnOf) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      `"arn:aws:iam::${ACCOUNT}:role/orders-api"`,
      ` arn:aws:iam::${ACCOUNT}:role/orders-api\n`,
      'arn:aws:iam::1111:role/x',
      'arn:aws:s3:::bucket',
      `arn:aws:iam::${ACCOUNT}:user/x`,
      `arn:aws:iam::${ACCOUNT}:role/`,
      `arn:aws:iam::${ACCOUNT}:role//x`,
      `arn:aws:iam:eu-west-1:${ACCOUNT}:role/x`,
      `arn:aws:iam::${ACCOUNT}:role`,
      'arn:',
      ':::::',
      'arn:aws:iam::111122223333:role/a:b',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

// ---------------------------------------------------------------------------------------------
// Trust policies: near-valid raw JSON documents.

const OPERATOR_NAMES = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'Null',
  'Bool',
  'ArnLike',
  'ArnNotEquals',
  'NumericEquals',
  'stringequals',
  'StringEqualsAny',
  '',
];

export const conditionOperator = fc
  .tuple(
    fc.constantFrom('', '', 'ForAnyValue:', 'ForAllValues:', 'forAnyValue:', 'ForAnyValue'),
    fc.constantFrom(...OPERATOR_NAMES),
    fc.constantFrom('', '', 'IfExists', 'ifexists'),
  )
  .map(([qualifier, name, suffix]) => `${qualifier}${name}${suffix}`);

export const conditionKey = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      `${ISSUER}:sub`,
      `${ISSUER}:aud`,
      `${ISSUER.toUpperCase()}:SUB`,
      `https://${ISSUER}:sub`,
      `${OLD_ISSUER}:sub`,
      `${ISSUER}:amr`,
      'aws:SourceAccount',
      ':sub',
      'sub',
      ':',
    ),
  },
  { weight: 1, arbitrary: fc.oneof(awkwardKey, fc.string({ maxLength: 20 })) },
);

const conditionScalar = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'system:serviceaccount:payments:orders-api',
      'system:serviceaccount:payments:*',
      'system:serviceaccount:*',
      'system:serviceaccount:*:*',
      'system:serviceaccount:payments:orders-ap?',
      '*',
      '?',
      '',
      'sts.amazonaws.com',
      'STS.AMAZONAWS.COM',
      'true',
      'false',
      PROVIDER_ARN,
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.oneof(fc.boolean(), fc.integer(), fc.double(), fc.constant(-0)) },
);

export const conditionValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: conditionScalar },
  { weight: 3, arbitrary: fc.array(conditionScalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: wrongTypedValue },
);

const jsonObjectOf = <T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>, maxKeys: number) =>
  fc
    .array(fc.tuple(key, value), { maxLength: maxKeys })
    .map((entries) => JSON.parse(JSON.stringify(Object.fromEntries(entries))) as Record<string, unknown>);

export const conditionBlock: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: jsonObjectOf(conditionOperator, jsonObjectOf(conditionKey, conditionValue, 3), 3) },
  { weight: 1, arbitrary: jsonObjectOf(conditionOperator, wrongTypedValue, 2) },
  { weight: 1, arbitrary: wrongTypedValue },
);

const actionName = fc.constantFrom(
  'sts:AssumeRoleWithWebIdentity',
  'sts:assumerolewithwebidentity',
  'sts:AssumeRoleWith*',
  'sts:*',
  '*',
  'sts:AssumeRole',
  'sts:TagSession',
  'sts:AssumeRoleWithSAML',
  'sts:?ssumeRoleWithWebIdentity',
  '',
);

export const actionValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: actionName },
  { weight: 3, arbitrary: fc.array(actionName, { maxLength: 3 }) },
  { weight: 1, arbitrary: wrongTypedValue },
);

const principalValue = fc.constantFrom(
  PROVIDER_ARN,
  OLD_PROVIDER_ARN,
  PROVIDER_ARN.toUpperCase(),
  '*',
  'pods.eks.amazonaws.com',
  ACCOUNT,
  `arn:aws:iam::${ACCOUNT}:root`,
  '',
);

export const principalValueOrList: fc.Arbitrary<unknown> = fc.oneof(
  principalValue,
  fc.array(principalValue, { maxLength: 3 }),
);

export const principal: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.constant('*') },
  {
    weight: 6,
    arbitrary: jsonObjectOf(
      fc.constantFrom('Federated', 'federated', 'AWS', 'Service', 'CanonicalUser', '__proto__', 'toString'),
      principalValueOrList,
      2,
    ),
  },
  { weight: 1, arbitrary: wrongTypedValue },
);

const effect = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('Allow', 'Deny') },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('allow', 'DENY', ''), wrongTypedValue) },
);

/** One statement: usually well formed, sometimes missing members or holding ones of the wrong type. */
export const trustStatement: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        Sid: fc.oneof(fc.string({ maxLength: 10 }), wrongTypedValue),
        Effect: effect,
        Principal: principal,
        Action: actionValue,
        Condition: conditionBlock,
      },
      { requiredKeys: ['Effect', 'Principal', 'Action'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        Sid: fc.string({ maxLength: 10 }),
        Effect: effect,
        Principal: principal,
        NotPrincipal: principal,
        Action: actionValue,
        NotAction: actionValue,
        Condition: conditionBlock,
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: wrongTypedValue },
);

/** A trust-policy document as the AWS CLI prints it, valid most of the time and near-valid otherwise. */
export const trustDocument: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      Version: fc.oneof(fc.constant('2012-10-17'), wrongTypedValue),
      Statement: fc.oneof(
        { weight: 2, arbitrary: trustStatement },
        { weight: 5, arbitrary: fc.array(trustStatement, { maxLength: 4 }) },
        { weight: 1, arbitrary: wrongTypedValue },
      ),
    },
    { requiredKeys: ['Statement'] },
  )
  .map((document) => JSON.parse(JSON.stringify(document)) as Record<string, unknown>);

const conditionText = fc.oneof(
  { weight: 5, arbitrary: conditionScalar.filter((value): value is string => typeof value === 'string') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'system:serviceaccount:data:etl-runner',
      'system:serviceaccount:default:default',
    ),
  },
);

const wellTypedStatement = fc.record(
  {
    Sid: fc.constantFrom('', 'Irsa', 'Deny other namespaces'),
    Effect: fc.constantFrom('Allow', 'Allow', 'Allow', 'Deny'),
    Principal: fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          Federated: fc.oneof(
            { weight: 3, arbitrary: fc.constant(PROVIDER_ARN) },
            { weight: 1, arbitrary: principalValueOrList },
          ),
        }),
      },
      { weight: 1, arbitrary: fc.constant('*') },
      { weight: 1, arbitrary: fc.constant({ Service: 'pods.eks.amazonaws.com' }) },
      { weight: 1, arbitrary: fc.constant({ AWS: '*' }) },
    ),
    Action: fc.oneof(
      { weight: 3, arbitrary: fc.constant('sts:AssumeRoleWithWebIdentity') },
      { weight: 2, arbitrary: actionName },
      { weight: 1, arbitrary: fc.array(actionName, { minLength: 1, maxLength: 2 }) },
    ),
    Condition: jsonObjectOf(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('StringEquals', 'StringLike') },
        { weight: 1, arbitrary: conditionOperator },
      ),
      jsonObjectOf(conditionKey, fc.oneof(conditionText, fc.array(conditionText, { maxLength: 3 })), 2),
      2,
    ),
  },
  { requiredKeys: ['Effect', 'Principal', 'Action'] },
);

/** A trust-policy document that always parses: real IRSA statements with varied operators, keys and values. */
export const wellTypedTrustDocument: fc.Arbitrary<Record<string, unknown>> = fc
  .array(wellTypedStatement, { minLength: 1, maxLength: 3 })
  .map((statements) => JSON.parse(JSON.stringify({ Version: '2012-10-17', Statement: statements })));

// ---------------------------------------------------------------------------------------------
// Whole ClusterStates with hostile but well-typed values, to run every check over.

const NAMESPACES = ['default', 'payments', 'data', 'kube-system'];
const SERVICE_ACCOUNTS = ['default', 'orders-api', 'etl-runner'];

const ROLE_ARNS = [
  `arn:aws:iam::${ACCOUNT}:role/orders-api`,
  `arn:aws:iam::${ACCOUNT}:role/team/etl-runner`,
  `arn:aws:iam::${ACCOUNT}:role/etl-runner`,
  `arn:aws:iam::${OTHER_ACCOUNT}:role/etl-runner`,
];

/** Role ARNs from a small pool, so that annotations, roles and associations name the same roles. */
const pooledRoleArn = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ROLE_ARNS) },
  { weight: 1, arbitrary: roleArnText },
);

const text = (pool: readonly string[]) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...pool) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );

const namespaceName = text(NAMESPACES);
const serviceAccountName = text(SERVICE_ACCOUNTS);

const issuerText = fc.oneof(
  fc.constantFrom(
    `https://${ISSUER}`,
    ISSUER,
    `${ISSUER}/`,
    `https://${ISSUER.toUpperCase()}`,
    `https://${OLD_ISSUER}`,
    'https://',
    '',
    ' ',
    'oidc.eks.cn-north-1.amazonaws.com.cn/id/ABC',
  ),
  fc.string({ maxLength: 20 }),
);

const ANNOTATION_KEYS = [
  'eks.amazonaws.com/role-arn',
  'eks.amazonaws.com/audience',
  'eks.amazonaws.com/token-expiration',
  'eks.amazonaws.com/sts-regional-endpoints',
  'eks.amazonaws.com/skip-containers',
  'eks.amazonaws.com/skip-pod-identity-webhook',
  'kubernetes.io/metadata.name',
  'app',
];

const annotationValue = fc.oneof(
  roleArnText,
  fc.constantFrom(
    'sts.amazonaws.com',
    'true',
    'false',
    '600',
    '86400',
    '599',
    '1e3',
    '-1',
    ' 3600 ',
    'app, sidecar',
    '',
  ),
);

const stringMap = fc
  .array(fc.tuple(text(ANNOTATION_KEYS), annotationValue), { maxLength: 4 })
  .map((entries) => Object.fromEntries(entries.filter(([key]) => key !== '__proto__')));

/** Annotations that usually carry a role ARN from the pool, plus random others. */
const roleAnnotations = fc
  .record({ arn: fc.option(pooledRoleArn, { freq: 4, nil: undefined }), others: stringMap })
  .map(({ arn, others }) => (arn === undefined ? others : { ...others, 'eks.amazonaws.com/role-arn': arn }));

const ENV_NAMES = [
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
];

const container: fc.Arbitrary<Container> = fc.record({
  name: text(['app', 'sidecar', 'init']),
  kind: fc.constantFrom('container' as const, 'initContainer' as const),
  env: fc.array(
    fc.record(
      {
        name: text(ENV_NAMES),
        value: fc.oneof(pooledRoleArn, fc.constant(`${TOKEN_DIRECTORY}/token`)),
        valueFrom: fc.constantFrom('secretKeyRef', 'configMapKeyRef', 'fieldRef'),
      },
      { requiredKeys: ['name'] },
    ),
    { maxLength: 4 },
  ),
  envFrom: fc.array(
    fc.record(
      {
        kind: fc.constantFrom('Secret' as const, 'ConfigMap' as const),
        name: fc.string({ maxLength: 8 }),
        prefix: text(['AWS_', '']),
      },
      { requiredKeys: ['kind', 'name'] },
    ),
    { maxLength: 2 },
  ),
  volumeMounts: fc.array(
    fc.record({
      name: text(['aws-iam-token', 'eks-pod-identity-token', 'data']),
      mountPath: text([
        TOKEN_DIRECTORY,
        `${TOKEN_DIRECTORY}/`,
        '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount',
        '/',
      ]),
      readOnly: fc.boolean(),
    }),
    { maxLength: 2 },
  ),
});

const pod: fc.Arbitrary<Pod> = fc.record(
  {
    namespace: namespaceName,
    name: fc.string({ maxLength: 16 }),
    serviceAccountName: serviceAccountName,
    labels: stringMap,
    annotations: stringMap,
    creationTimestamp: fc.constantFrom('2026-11-28T15:00:01Z', 'yesterday', ''),
    phase: fc.constantFrom('Running', 'Pending', 'Succeeded', 'Failed', ''),
    owner: fc.record({
      kind: text(['ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job']),
      name: fc.string({ maxLength: 20 }),
    }),
    containers: fc.array(container, { maxLength: 3 }),
    tokenVolumes: fc.array(
      fc.record(
        {
          volumeName: text(['aws-iam-token', 'eks-pod-identity-token']),
          path: text(['token', 'eks-pod-identity-token']),
          audience: text(['sts.amazonaws.com', 'pods.eks.amazonaws.com', '']),
          expirationSeconds: fc.oneof(fc.integer(), fc.double()),
        },
        { requiredKeys: ['volumeName', 'path'] },
      ),
      { maxLength: 2 },
    ),
  },
  {
    requiredKeys: [
      'namespace',
      'name',
      'serviceAccountName',
      'labels',
      'annotations',
      'containers',
      'tokenVolumes',
    ],
  },
);

const isoDate = fc.date({ noInvalidDate: true }).map((date) => date.toISOString());

const fakeCertificate: fc.Arbitrary<Certificate> = fc.record({
  sha256Fingerprint: fc.constantFrom('a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)),
  subject: fc.string({ maxLength: 20 }),
  issuer: fc.string({ maxLength: 20 }),
  notBefore: isoDate,
  notAfter: isoDate,
});

const certificateBundle: fc.Arbitrary<CertificateBundle> = fc.record(
  {
    certificates: fc.array(fakeCertificate, { maxLength: 2 }),
    problem: fc.string({ maxLength: 20 }),
    rawLength: fc.nat({ max: 5000 }),
  },
  { requiredKeys: ['certificates', 'rawLength'] },
);

const labelSelector: fc.Arbitrary<LabelSelector> = fc.record({
  matchLabels: stringMap,
  matchExpressions: fc.array(
    fc.record({
      key: text(ANNOTATION_KEYS),
      operator: text(['In', 'NotIn', 'Exists', 'DoesNotExist', 'in']),
      values: fc.array(text(NAMESPACES), { maxLength: 3 }),
    }),
    { maxLength: 2 },
  ),
});

const webhook: fc.Arbitrary<MutatingWebhook> = fc.record(
  {
    name: text([WEBHOOK_NAME, 'other.example.com']),
    caBundle: certificateBundle,
    endpoint: fc.string({ maxLength: 20 }),
    rules: fc.array(
      fc.record(
        {
          operations: fc.array(text(['CREATE', 'UPDATE', '*', 'create']), { maxLength: 2 }),
          apiGroups: fc.array(text(['', '*', 'apps']), { maxLength: 2 }),
          apiVersions: fc.array(text(['v1', '*', 'v1beta1']), { maxLength: 2 }),
          resources: fc.array(text(['pods', '*', 'pods/*', '*/*', 'deployments']), { maxLength: 2 }),
          scope: text(['*', 'Namespaced', 'Cluster']),
        },
        { requiredKeys: ['operations', 'apiGroups', 'apiVersions', 'resources'] },
      ),
      { maxLength: 2 },
    ),
    namespaceSelector: labelSelector,
    objectSelector: labelSelector,
    failurePolicy: text(['Ignore', 'Fail']),
    reinvocationPolicy: text(['Never', 'IfNeeded']),
  },
  { requiredKeys: ['name', 'caBundle', 'endpoint', 'rules', 'failurePolicy'] },
);

const webhookConfiguration: fc.Arbitrary<MutatingWebhookConfiguration> = fc.record({
  name: text(['pod-identity-webhook', 'other']),
  webhooks: fc.array(webhook, { maxLength: 2 }),
});

const role: fc.Arbitrary<IamRole> = fc
  .record({
    arn: pooledRoleArn,
    document: fc.oneof(
      { weight: 3, arbitrary: wellTypedTrustDocument },
      { weight: 1, arbitrary: trustDocument },
    ),
    size: fc.nat({ max: 3000 }),
  })
  .map(({ arn, document, size }) => {
    const parts = arn.split(':');
    const resource = parts.slice(5).join(':');
    const name = resource.slice(resource.lastIndexOf('/') + 1);
    const parsed = parseTrustPolicy(document);
    return {
      arn,
      name,
      path: '/',
      accountId: parts[4] ?? '',
      ...('policy' in parsed ? { trustPolicy: parsed.policy } : { trustPolicyError: parsed.error }),
      trustPolicySize: size,
    };
  });

const RESOURCE_TYPES: readonly (ResourceType | 'cluster-connection')[] = [
  'cluster',
  'oidcProviders',
  'roles',
  'serviceAccounts',
  'pods',
  'mutatingWebhookConfigurations',
  'namespaces',
  'podIdentityAssociations',
  'accountClusters',
  'cluster-connection',
];

const collectionError: fc.Arbitrary<CollectionError> = fc.record({
  resource: fc.constantFrom(...RESOURCE_TYPES),
  reason: fc.constantFrom('403', 'throttled', 'timeout', ''),
  message: fc.string({ maxLength: 20 }),
});

/** A ClusterState of random but well-typed content, biased so that names, ARNs and issuers line up. */
export const clusterState: fc.Arbitrary<ClusterState> = fc.record(
  {
    cluster: fc.record(
      {
        name: text(['platform-prod', '']),
        arn: text([
          `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/platform-prod`,
          'arn:aws-cn:eks:cn-north-1:1:cluster/x',
        ]),
        region: text(['eu-west-1', 'us-east-1']),
        accountId: text([ACCOUNT, OTHER_ACCOUNT]),
        partition: fc.constantFrom(...PARTITIONS),
        oidcIssuer: fc.oneof(
          { weight: 3, arbitrary: fc.constant(`https://${ISSUER}`) },
          { weight: 1, arbitrary: issuerText },
        ),
        certificateAuthority: certificateBundle,
        version: fc.constant('1.33'),
        status: fc.constant('ACTIVE'),
      },
      { requiredKeys: ['name', 'partition', 'certificateAuthority'] },
    ),
    oidcProviders: fc.array(
      fc.record({
        arn: text([PROVIDER_ARN, OLD_PROVIDER_ARN, '']),
        url: issuerText,
        clientIds: fc.array(text(['sts.amazonaws.com', 'other']), { maxLength: 2 }),
        thumbprints: fc.array(fc.string({ maxLength: 8 }), { maxLength: 1 }),
      }),
      { maxLength: 3 },
    ),
    roles: fc.array(role, { maxLength: 4 }),
    serviceAccounts: fc.array(
      fc.record(
        {
          namespace: namespaceName,
          name: serviceAccountName,
          annotations: roleAnnotations,
          creationTimestamp: fc.constant('2024-03-20T15:52:19Z'),
        },
        { requiredKeys: ['namespace', 'name', 'annotations'] },
      ),
      { maxLength: 5 },
    ),
    pods: fc.array(pod, { maxLength: 5 }),
    mutatingWebhookConfigurations: fc.array(webhookConfiguration, { maxLength: 2 }),
    namespaces: fc.array(fc.record({ name: namespaceName, labels: stringMap }), { maxLength: 3 }),
    podIdentityAssociations: fc.array(
      fc.record(
        {
          associationId: fc.string({ maxLength: 10 }),
          associationArn: fc.string({ maxLength: 10 }),
          namespace: namespaceName,
          serviceAccount: serviceAccountName,
          roleArn: pooledRoleArn,
        },
        { requiredKeys: ['associationId', 'namespace', 'serviceAccount', 'roleArn'] },
      ),
      { maxLength: 2 },
    ),
    accountClusters: fc.array(
      fc.record(
        { name: fc.string({ maxLength: 8 }), region: text(['eu-west-1']), oidcIssuer: issuerText },
        { requiredKeys: ['name'] },
      ),
      { maxLength: 2 },
    ),
    readableAccounts: fc.subarray([ACCOUNT, OTHER_ACCOUNT, '']),
    collected: fc.constantFrom<ClusterState['collected']>('full', 'full', 'aws-only', 'none'),
    collectionErrors: fc.oneof(
      { weight: 4, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(collectionError, { maxLength: 2 }) },
    ),
    malformedObjects: fc.array(
      fc.record(
        {
          source: fc.constantFrom('pods.json', 'roles.json'),
          kind: fc.constantFrom('Pod', 'Role'),
          namespace: namespaceName,
          name: fc.string({ maxLength: 10 }),
          path: fc.string({ maxLength: 20 }),
          problem: fc.string({ maxLength: 20 }),
        },
        { requiredKeys: ['source', 'kind', 'name', 'path', 'problem'] },
      ),
      { maxLength: 2 },
    ),
  },
  {
    requiredKeys: [
      'cluster',
      'collected',
      'oidcProviders',
      'roles',
      'serviceAccounts',
      'pods',
      'mutatingWebhookConfigurations',
      'readableAccounts',
      'collectionErrors',
      'malformedObjects',
    ],
  },
);

/** The instant audits run at: any valid date, so certificate validity windows fall on both sides of it. */
export const auditTime = fc.date({
  noInvalidDate: true,
  min: new Date('1990-01-01'),
  max: new Date('2100-01-01'),
});
