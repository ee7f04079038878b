#!/usr/bin/env bash
# The manual IRSA triage of the seed incident, as an engineer types it with kubectl, the aws CLI and jq: the
# cluster's issuer against the IAM OIDC providers, the webhook configuration exists, and for each annotated
# ServiceAccount `aws iam get-role` with a jq test of the trust's principal and :sub, then its pods'
# AWS_ROLE_ARN. One line per fault found: `FAULT <kind> <resource>`. bench/triage.ts times it against the audit.
#
# Environment: CLUSTER, REGION, KUBECONFIG; AWS_ENDPOINT_URL for an emulator (the aws CLI v1 has no such
# variable, so it becomes --endpoint-url).
set -uo pipefail

aws_() { aws --region "$REGION" ${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} "$@"; }

issuer=$(aws_ eks describe-cluster --name "$CLUSTER" --query cluster.identity.oidc.issuer --output text)
host=${issuer#https://}
provider=$(aws_ iam list-open-id-connect-providers --query 'OpenIDConnectProviderList[].Arn' --output text |
  tr '\t' '\n' | grep -F "oidc-provider/$host" || true)
[ -n "$provider" ] || echo "FAULT no-oidc-provider $host"

kubectl get mutatingwebhookconfiguration pod-identity-webhook -o name >/dev/null 2>&1 ||
  echo "FAULT no-webhook pod-identity-webhook"

pods=$(mktemp)
trap 'rm -f "$pods"' EXIT
kubectl get pods -A -o json >"$pods"

kubectl get serviceaccounts -A -o json |
  jq -r '.items[] | select(.metadata.annotations["eks.amazonaws.com/role-arn"] != null)
         | [.metadata.namespace, .metadata.name, .metadata.annotations["eks.amazonaws.com/role-arn"]] | @tsv' |
  while IFS=$'\t' read -r namespace serviceaccount arn; do
    if ! trust=$(aws_ iam get-role --role-name "${arn##*/}" --query Role.AssumeRolePolicyDocument --output json 2>/dev/null); then
      echo "FAULT role-missing $namespace/$serviceaccount"
      continue
    fi
    admitted=$(jq --arg provider "$provider" --arg key "$host:sub" \
      --arg subject "system:serviceaccount:$namespace:$serviceaccount" \
      '[.Statement[] | select(.Principal.Federated == $provider) | .Condition.StringEquals[$key] // empty
        | if type == "array" then .[] else . end] | index($subject) != null' <<<"$trust")
    [ "$admitted" = true ] || echo "FAULT trust-subject $namespace/$serviceaccount"
    jq -r --arg namespace "$namespace" --arg serviceaccount "$serviceaccount" \
      '.items[] | select(.metadata.namespace == $namespace and .spec.serviceAccountName == $serviceaccount)
       | select([.spec.containers[].env[]? | select(.name == "AWS_ROLE_ARN")] | length == 0) | .metadata.name' \
      "$pods" | while read -r pod; do echo "FAULT pod-not-mutated $namespace/$pod"; done
  done
