// A stack synthesizer for templates that must deploy where nothing was bootstrapped: the member account stack,
// deployed by `cdk deploy` in each account or as a CloudFormation StackSet. The CDK's own choices all lean on
// a bootstrap: DefaultStackSynthesizer and BootstraplessSynthesizer name the bootstrap deploy role (the CLI
// assumes it), CliCredentialsStackSynthesizer uploads the template to the bootstrap bucket.

import {
  type DockerImageAssetLocation,
  type FileAssetLocation,
  type ISynthesisSession,
  StackSynthesizer,
} from 'aws-cdk-lib';

/** A stack with this synthesizer was given an asset (a Lambda bundle, a Docker image) it cannot have. */
export class AssetNotSupportedError extends Error {
  override readonly name = 'AssetNotSupportedError';
}

/**
 * Writes the template and a stack artifact without roles, assets or bootstrap version: the CLI deploys it with
 * its own credentials and sends the template inline (CloudFormation accepts up to 51,200 bytes that way).
 */
export class AssetlessSynthesizer extends StackSynthesizer {
  override addFileAsset(): FileAssetLocation {
    throw new AssetNotSupportedError(
      `${this.boundStack.stackName} cannot have file assets: it deploys without a bootstrap (cdk deploy in any account, or a StackSet)`,
    );
  }

  override addDockerImageAsset(): DockerImageAssetLocation {
    throw new AssetNotSupportedError(
      `${this.boundStack.stackName} cannot have Docker image assets: it deploys without a bootstrap (cdk deploy in any account, or a StackSet)`,
    );
  }

  override synthesize(session: ISynthesisSession): void {
    this.synthesizeTemplate(session);
    this.emitArtifact(session);
  }
}
