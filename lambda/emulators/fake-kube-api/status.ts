// Kubernetes `Status` bodies, worded as kube-apiserver words them, for every failure the fake serves.

/** An HTTP status with the `Status` object the real API server sends along with it. */
export interface StatusResponse {
  readonly code: number;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

function failure(
  code: number,
  reason: string,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): StatusResponse {
  return {
    code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details === undefined ? {} : { details }),
      code,
    },
  };
}

/** 401: the authenticator rejected the bearer token (or there was none). */
export function unauthorized(): StatusResponse {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

/** 403 for a verb on a resource, as RBAC denies it. */
export function forbiddenResource(
  user: string,
  verb: string,
  resource: string,
  group: string,
  namespace: string | undefined,
  name?: string,
): StatusResponse {
  const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  const subject = name === undefined ? resource : `${resource} "${name}"`;
  return failure(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`,
    { ...(name === undefined ? {} : { name }), ...(group === '' ? {} : { group }), kind: resource },
  );
}

/** 403 for a non-resource path (discovery, /openapi) that the user may not read. */
export function forbiddenPath(user: string, verb: string, path: string): StatusResponse {
  return failure(403, 'Forbidden', `forbidden: User "${user}" cannot ${verb} path "${path}"`, {});
}

/** 404 for a path no handler serves. */
export function pathNotFound(): StatusResponse {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** 404 for a named object that does not exist. */
export function objectNotFound(resource: string, group: string, name: string): StatusResponse {
  return failure(404, 'NotFound', `${resource}${group === '' ? '' : `.${group}`} "${name}" not found`, {
    name,
    ...(group === '' ? {} : { group }),
    kind: resource,
  });
}

/** 405 for a verb the fake does not implement on a path it knows. */
export function methodNotAllowed(method: string): StatusResponse {
  return failure(
    405,
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource (${method} is not implemented by the fake API server)`,
    {},
  );
}

/** 400 for a request the real server would reject or the fake does not support. */
export function badRequest(message: string): StatusResponse {
  return failure(400, 'BadRequest', message);
}

/** 410: a continue token from an older resourceVersion, as the API server answers once etcd has compacted it. */
export function continueExpired(): StatusResponse {
  return failure(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
  );
}

/** 429 with Retry-After, as API Priority and Fairness answers when a request is rejected. */
export function tooManyRequests(retryAfterSeconds: number): StatusResponse {
  return {
    ...failure(429, 'TooManyRequests', 'Too many requests, please try again later.', {
      retryAfterSeconds,
    }),
    headers: { 'retry-after': String(retryAfterSeconds) },
  };
}

/** 500 InternalError, as apierrors.NewInternalError words it (a webhook failing closed, a patch that does not apply). */
export function internalError(message: string): StatusResponse {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** A webhook's `allowed: false`, as webhookerrors.ToStatusErr turns its `result` into the API's answer. */
export function webhookDenied(
  webhookName: string,
  result?: Readonly<Record<string, unknown>>,
): StatusResponse {
  const deniedBy = `admission webhook "${webhookName}" denied the request`;
  const resultCode = typeof result?.code === 'number' ? result.code : 0;
  // A rejection never carries a success code.
  const code = Math.max(400, resultCode);
  const message =
    typeof result?.message === 'string' && result.message !== ''
      ? `${deniedBy}: ${result.message}`
      : typeof result?.reason === 'string' && result.reason !== ''
        ? `${deniedBy}: ${result.reason}`
        : `${deniedBy} without explanation`;
  return {
    code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      ...(typeof result?.reason === 'string' && result.reason !== '' ? { reason: result.reason } : {}),
      ...(typeof result?.details === 'object' && result.details !== null ? { details: result.details } : {}),
      code,
    },
  };
}

/** 409 for a create whose name is taken. */
export function alreadyExists(resource: string, name: string): StatusResponse {
  return failure(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });
}

/** 403 from an admission plugin (not RBAC), as admission.NewForbidden words it. */
export function forbiddenByAdmission(resource: string, name: string, problem: string): StatusResponse {
  return failure(403, 'Forbidden', `${resource} "${name}" is forbidden: ${problem}`, {
    name,
    kind: resource,
  });
}

/** One field error of a 422 Invalid answer. */
export interface FieldCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

/** 422 Invalid: the object fails validation, each cause named by its field path. */
export function invalidObject(kind: string, name: string, causes: readonly FieldCause[]): StatusResponse {
  const list = causes.map((cause) => `${cause.field}: ${cause.message}`);
  const summary = list.length === 1 ? list[0]! : `[${list.join(', ')}]`;
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    kind,
    causes: causes.map((cause) => ({ reason: cause.reason, message: cause.message, field: cause.field })),
  });
}

/**
 * 415 for a request body of a media type the API server cannot decode, worded as kube-apiserver words it (which
 * also decodes YAML and protobuf bodies; the fake decodes JSON only, and answers this to the others too).
 */
export function unsupportedMediaType(): StatusResponse {
  return failure(
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  );
}
