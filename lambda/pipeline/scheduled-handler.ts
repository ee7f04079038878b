import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type AwsClients, type AwsCredentials, createAwsClients } from '../sources/aws/aws-clients';
import { EksTokenCache } from '../sources/aws/eks-token';
import { clusterCollector } from '../sources/live/cluster-collector';
import {
  alertAndMetricClients,
  atColdStart,
  auditorCredentials,
  findingSinkClients,
  reportStoreFor,
} from './cold-start';
import { type Environment, loadConfig, type ScheduledAuditConfig } from './config';
import {
  runScheduledAudit,
  type ScheduledAuditDependencies,
  type ScheduledAuditSummary,
  type ScheduledEvent,
} from './run-scheduled-audit';
import { type InvocationContext, jsonLineLog, type StructuredLog } from './structured-log';

/** What a caller outside Lambda may choose; the deployed handler uses the defaults. */
export interface HandlerOptions {
  /** AWS credentials for every client and the EKS tokens; the default credential chain when absent. */
  readonly credentials?: AwsCredentials;
  readonly log?: StructuredLog;
  /** The clients that collect the clusters, when the caller builds them (a test that counts their requests). */
  readonly collectionClients?: AwsClients;
}

/** The scheduled audit's Lambda handler. */
export type ScheduledAuditHandler = (
  event: ScheduledEvent | undefined,
  context: InvocationContext,
) => Promise<ScheduledAuditSummary>;

/** Some reports, alerts or metrics were not published; the audit itself ran (see `summary`). */
export class PublishError extends Error {
  override readonly name = 'PublishError';

  constructor(readonly summary: ScheduledAuditSummary) {
    super(
      `run ${summary.runId}: ${summary.errors.length} publishing problem(s): ${summary.errors.join('; ')}`,
    );
  }
}

/** The clients and collaborators of one container, created once from a valid configuration. */
export function createDependencies(
  config: ScheduledAuditConfig,
  options: HandlerOptions = {},
): ScheduledAuditDependencies {
  // One provider for the clients and the EKS tokens: the token must be signed as the caller the access entry maps.
  const credentials = auditorCredentials(options);
  const aws: AwsClients =
    options.collectionClients ??
    createAwsClients({
      region: config.region,
      credentials,
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    });
  const tokens = new EksTokenCache({ credentials });
  let account: Promise<string> | undefined;
  return {
    config,
    collectorForRun: () =>
      clusterCollector({
        clients: aws,
        token: (clusterName) => tokens.token(clusterName, config.region),
        probe: config.probe,
      }),
    accountId: () => {
      account ??= aws.sts.send(new GetCallerIdentityCommand({})).then((identity) => {
        if (identity.Account === undefined) throw new Error('STS GetCallerIdentity returned no account');
        return identity.Account;
      });
      // A failed lookup is not kept: the next cluster (or run) asks again.
      account.catch(() => {
        account = undefined;
      });
      return account;
    },
    ...alertAndMetricClients(config, credentials),
    ...findingSinkClients(config, credentials),
    store: reportStoreFor(config, credentials),
    log: options.log ?? jsonLineLog(),
  };
}

/**
 * Validates the configuration now (cold start) and returns the handler. An invalid configuration is logged
 * at once, one line naming every problem, and fails every invocation with the same ConfigError, so the
 * Lambda errors alarm fires; it does not fail the import, so the bundle still loads to say what is wrong.
 */
export function createHandler(env: Environment, options: HandlerOptions = {}): ScheduledAuditHandler {
  const log = options.log ?? jsonLineLog();
  return atColdStart(
    'scheduled-audit',
    () => loadConfig(env),
    (config): ScheduledAuditHandler => {
      const deps = createDependencies(config, { ...options, log });
      return async (event, context) => {
        const summary = await runScheduledAudit(deps, event, context);
        // Thrown after everything was published that could be: the invocation counts as failed (alarm), and
        // Lambda's retry of the same event reuses its run ID, so alerts already sent are not sent again.
        if (summary.errors.length > 0) throw new PublishError(summary);
        return summary;
      };
    },
    (config) => ({
      region: config.region,
      clusters: config.clusters === undefined ? 'all (ListClusters)' : [...config.clusters],
      excludeNamespaces: [...config.excludeNamespaces],
      alertSeverity: config.alertSeverity,
      probe: config.probe,
      clusterConcurrency: config.clusterConcurrency,
    }),
    log,
  );
}
