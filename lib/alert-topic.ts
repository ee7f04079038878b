// The SNS topic of drift alerts (from the function) and alarm notifications (from CloudWatch): encrypted with
// the auditor's key, reachable only over TLS, optionally with an email subscription.

import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** What the topic is built from. */
export interface AlertTopicProps {
  /** The customer managed key the topic is encrypted with. */
  readonly key: IKey;
  /** Subscribe this address (SNS sends a confirmation email first). */
  readonly email?: string;
}

/** The alert topic; its key lets CloudWatch alarms publish, its policy refuses anything but TLS. */
export class AlertTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    const { account, region, partition } = Stack.of(this);
    this.topic = new Topic(this, 'Topic', {
      displayName: 'IRSA auditor',
      masterKey: props.key,
      // A Deny of every SNS action when aws:SecureTransport is false.
      enforceSSL: true,
    });

    // The topic policy replaces SNS's default one, so the alarms of this account are allowed by name.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccountPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
        },
      }),
    );
    // An alarm can only publish to an encrypted topic if CloudWatch may use the topic's key: AWS managed
    // alias/aws/sns does not allow it, hence the customer managed key and this statement (CloudWatch docs,
    // "Amazon SNS topic with server-side encryption").
    props.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheEncryptedTopic',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    if (props.email !== undefined) this.topic.addSubscription(new EmailSubscription(props.email));
  }
}
