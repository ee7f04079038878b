// aws-sdk-client-mock stubs that inject one fault (or an operation moto lacks) and pass every other call of the
// audit's collection on to moto_server through the real client (SPEC §9). Each stub is recorded in `mocks` for
// the test file's afterEach to restore.

import {
  DescribeAddonCommand,
  DescribeClusterCommand,
  ListClustersCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import {
  GetAccountSummaryCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../lambda/sources/aws/aws-clients';

// biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stubs are typed for any client.
export type AnyStub = AwsStub<any, any, any>;

/** The IAM client, its provider, role and account summary reads passed through to moto. */
export function mockIamPassingThrough(clients: AwsClients, mocks: AnyStub[]) {
  const send = clients.iam.send.bind(clients.iam);
  const mock = mockClient(clients.iam);
  mocks.push(mock);
  mock
    .on(ListOpenIDConnectProvidersCommand)
    .callsFake((input) => send(new ListOpenIDConnectProvidersCommand(input)))
    .on(GetOpenIDConnectProviderCommand)
    .callsFake((input) => send(new GetOpenIDConnectProviderCommand(input)))
    .on(ListRolesCommand)
    .callsFake((input) => send(new ListRolesCommand(input)))
    .on(GetRoleCommand)
    .callsFake((input) => send(new GetRoleCommand(input)))
    .on(GetAccountSummaryCommand)
    .callsFake((input) => send(new GetAccountSummaryCommand(input)));
  return mock;
}

/** The EKS client, its cluster and add-on reads passed through to moto; no Pod Identity associations (moto has none). */
export function mockEksPassingThrough(clients: AwsClients, mocks: AnyStub[]) {
  const send = clients.eks.send.bind(clients.eks);
  const mock = mockClient(clients.eks);
  mocks.push(mock);
  mock
    .on(DescribeClusterCommand)
    .callsFake((input) => send(new DescribeClusterCommand(input)))
    .on(ListClustersCommand)
    .callsFake((input) => send(new ListClustersCommand(input)))
    .on(DescribeAddonCommand)
    .callsFake((input) => send(new DescribeAddonCommand(input)))
    .on(ListPodIdentityAssociationsCommand)
    .resolves({ associations: [] });
  return mock;
}
