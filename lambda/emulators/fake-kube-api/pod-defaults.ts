// The one part of the v1 Pod defaulting (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go) the fake applies:
// `defaultMode: 420` (0644) on projected, secret, configMap and downwardAPI volumes. kube-apiserver defaults
// the decoded pod and again each webhook's patched pod, so an injected `aws-iam-token` volume is stored with it.

import type { JsonValue } from './json-patch';

const MODE_DEFAULTED_SOURCES = ['projected', 'secret', 'configMap', 'downwardAPI'] as const;

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets `defaultMode: 420` where a volume source of those kinds has none; changes the pod in place. */
export function defaultPodVolumes(pod: { [key: string]: JsonValue }): void {
  const spec = pod.spec;
  if (!isObject(spec) || !Array.isArray(spec.volumes)) return;
  for (const volume of spec.volumes) {
    if (!isObject(volume)) continue;
    for (const kind of MODE_DEFAULTED_SOURCES) {
      const source = volume[kind];
      if (isObject(source) && source.defaultMode === undefined) source.defaultMode = 420;
    }
  }
}
