// The CDK app synthesized in-process, as `cdk synth` runs it (cdk.json's context, lib/irsa-auditor-app.ts), and
// the Lambda assets it bundles: what `cdk deploy` would upload, for tests that assert on the templates or run
// the bundles. Single mode (synthesizeAuditor) and organization mode (synthesizeOrganization).

import { readFileSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addIrsaAuditor, addOrganizationAuditor } from '../../lib/irsa-auditor-app';
import type { IrsaAuditorStack } from '../../lib/irsa-auditor-stack';
import type { MemberAccountStack } from '../../lib/member-account-stack';
import type { OrganizationStack } from '../../lib/organization-stack';

/** The repository root. */
export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/** The context of cdk.json (defaults and feature flags), as the cdk CLI passes it to the app. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/** How a test synthesizes the app. */
export interface SynthesisOptions {
  /** Context on top of cdk.json's, as `-c key=value` gives it. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** The cloud assembly directory; a temporary one of the CDK's when absent. */
  readonly outdir?: string;
  /** Run esbuild for the function (slow); otherwise the asset is a placeholder, as `cdk synth --exclusively` does. */
  readonly bundle?: boolean;
  /** CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION; none: an environment-agnostic stack, as without credentials. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

/** A synthesized app: the stack, its template and the cloud assembly directory. */
export interface SynthesizedAuditor {
  readonly app: App;
  readonly stack: IrsaAuditorStack;
  readonly template: Template;
  readonly outdir: string;
}

function appFor(options: SynthesisOptions, context: Readonly<Record<string, unknown>> = {}): App {
  return new App({
    context: {
      ...CDK_JSON_CONTEXT,
      ...context,
      ...options.context,
      // CDK's own switch: an empty list of stacks to bundle skips esbuild and stages a placeholder asset.
      ...(options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
  });
}

/** Synthesizes the auditor app in-process; throws what the app throws (InvalidContextError for bad context). */
export function synthesizeAuditor(options: SynthesisOptions = {}): SynthesizedAuditor {
  const app = appFor(options);
  const stack = addIrsaAuditor(app, options.environment ?? {});
  const assembly = app.synth();
  // The template as written to the assembly; Template.fromStack would synthesize (and run cdk-nag) again.
  const template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  return { app, stack, template, outdir: assembly.directory };
}

// The asset manifest's entry for one file asset (cdk-assets format).
interface AssetManifest {
  readonly files: Record<string, { readonly source: { readonly path: string; readonly packaging?: string } }>;
}

/** No function, or no bundled file, where the synthesized template says the function's code is. */
export class HandlerAssetError extends Error {
  override readonly name = 'HandlerAssetError';
  constructor(
    readonly outdir: string,
    problem: string,
  ) {
    super(`${outdir}: ${problem}`);
  }
}

/**
 * Synthesizes the app (esbuild bundling on, environment-agnostic) into `outDir` and returns the absolute path
 * of the function's bundled `index.mjs`: the asset the template's Code.S3Key names, found through the asset
 * manifest, as `cdk deploy` finds it.
 */
export async function synthesizedHandlerAsset(outDir: string): Promise<string> {
  const { stack, template, outdir } = synthesizeAuditor({ outdir: outDir, bundle: true });
  const functions = Object.values(
    template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'nodejs22.x' } }),
  ) as { Properties: { Code: { S3Key?: unknown }; Handler?: unknown } }[];
  if (functions.length !== 1)
    throw new HandlerAssetError(outdir, `expected one nodejs22.x function, found ${functions.length}`);
  const [auditor] = functions as [(typeof functions)[number]];
  const key = auditor.Properties.Code.S3Key;
  if (typeof key !== 'string' || !key.endsWith('.zip'))
    throw new HandlerAssetError(
      outdir,
      `the function's Code.S3Key is ${JSON.stringify(key)}, not <hash>.zip`,
    );
  const manifest = JSON.parse(
    await readFile(join(outdir, `${stack.artifactId}.assets.json`), 'utf8'),
  ) as AssetManifest;
  const asset = manifest.files[key.slice(0, -'.zip'.length)];
  if (asset === undefined || asset.source.packaging !== 'zip')
    throw new HandlerAssetError(outdir, `the asset manifest has no zip asset ${key}`);
  if (auditor.Properties.Handler !== 'index.handler')
    throw new HandlerAssetError(
      outdir,
      `the function's handler is ${JSON.stringify(auditor.Properties.Handler)}`,
    );
  // Lambda loads index.mjs (ESM) for the handler "index.handler".
  const bundle = resolve(outdir, asset.source.path, 'index.mjs');
  try {
    await access(bundle);
  } catch {
    throw new HandlerAssetError(outdir, `the asset ${asset.source.path} has no index.mjs`);
  }
  return bundle;
}

/** The context of the acceptance command: `-c mode=organization -c accounts=... -c regions=...`. */
export const ORGANIZATION_CONTEXT: Readonly<Record<string, unknown>> = {
  mode: 'organization',
  accounts: '111111111111,222222222222',
  regions: 'eu-west-1,us-east-1',
};

/** Organization mode synthesized: both stacks, their templates and the cloud assembly directory. */
export interface SynthesizedOrganization {
  readonly app: App;
  readonly organization: OrganizationStack;
  readonly member: MemberAccountStack;
  readonly organizationTemplate: Template;
  readonly memberTemplate: Template;
  readonly outdir: string;
}

/**
 * Synthesizes organization mode in-process: cdk.json's context, then ORGANIZATION_CONTEXT, then
 * `options.context`; throws what the app throws (InvalidContextError for bad context).
 */
export function synthesizeOrganization(options: SynthesisOptions = {}): SynthesizedOrganization {
  const app = appFor(options, ORGANIZATION_CONTEXT);
  const { organization, member } = addOrganizationAuditor(app, options.environment ?? {});
  const assembly = app.synth();
  return {
    app,
    organization,
    member,
    organizationTemplate: Template.fromJSON(assembly.getStackArtifact(organization.artifactId).template),
    memberTemplate: Template.fromJSON(assembly.getStackArtifact(member.artifactId).template),
    outdir: assembly.directory,
  };
}

/** The organization steps, as OrganizationFunctions names them. */
export const ORGANIZATION_STEPS = ['discover', 'auditTarget', 'aggregate'] as const;
/** One organization step. */
export type OrganizationStepName = (typeof ORGANIZATION_STEPS)[number];

/**
 * Synthesizes organization mode with esbuild bundling into `outDir` and returns the absolute path of each
 * step's bundled `index.mjs`, found as synthesizedHandlerAsset finds the single-mode one.
 */
export async function synthesizedOrganizationAssets(
  outDir: string,
): Promise<Record<OrganizationStepName, string>> {
  const { organization, organizationTemplate, outdir } = synthesizeOrganization({
    outdir: outDir,
    bundle: true,
  });
  const manifest = JSON.parse(
    await readFile(join(outdir, `${organization.artifactId}.assets.json`), 'utf8'),
  ) as AssetManifest;
  const functions = organizationTemplate.findResources('AWS::Lambda::Function') as Record<
    string,
    { Properties: { Code: { S3Key?: unknown } } }
  >;
  const bundleOf = async (step: OrganizationStepName): Promise<string> => {
    const logicalId = organization.getLogicalId(
      organization.functions[step].function.node.defaultChild as CfnElement,
    );
    const key = functions[logicalId]?.Properties.Code.S3Key;
    if (typeof key !== 'string' || !key.endsWith('.zip'))
      throw new HandlerAssetError(outdir, `${step} has no zip asset (Code.S3Key ${JSON.stringify(key)})`);
    const asset = manifest.files[key.slice(0, -'.zip'.length)];
    if (asset === undefined) throw new HandlerAssetError(outdir, `the asset manifest has no asset ${key}`);
    const bundle = resolve(outdir, asset.source.path, 'index.mjs');
    await access(bundle);
    return bundle;
  };
  return {
    discover: await bundleOf('discover'),
    auditTarget: await bundleOf('auditTarget'),
    aggregate: await bundleOf('aggregate'),
  };
}
