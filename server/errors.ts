/**
 * The one mapping from failures to HTTP answers. SemidErrors keep their code and the status
 * ERROR_CODES gives it; fastify's own client errors (validation, bad JSON, body too large, wrong
 * content type, unknown route) get a stable semid code; anything else is a logged 500
 * SEMID_ERR_INTERNAL that never echoes internals.
 */
import type { FastifyError } from 'fastify';
import { ERROR_CODES, type ErrorCode, SemidError } from '../src/core/errors.js';

/** The JSON body of every error answer. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** fastify client-error codes -> [HTTP status, semid code]. */
const FASTIFY_CODES: Record<string, [number, ErrorCode]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'SEMID_ERR_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'SEMID_ERR_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'SEMID_ERR_BAD_INPUT'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'SEMID_ERR_PARSE'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'SEMID_ERR_PARSE'],
  FST_ERR_BAD_URL: [400, 'SEMID_ERR_BAD_INPUT'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'SEMID_ERR_BAD_INPUT'],
};

/** Builds the answer for `err`; `internal` is true when it should be logged as a server fault. */
export function toErrorBody(err: unknown): { body: ErrorBody; internal: boolean } {
  if (err instanceof SemidError) {
    const status = ERROR_CODES[err.code];
    return {
      body: {
        statusCode: status,
        code: err.code,
        error: REASONS[status] ?? 'Error',
        message: err.message,
        ...(err.details ? { details: err.details } : {}),
      },
      internal: status >= 500,
    };
  }
  const fe = err as FastifyError & { validation?: { instancePath?: string; message?: string; params?: unknown }[] };
  if (fe && Array.isArray(fe.validation)) {
    return {
      body: {
        statusCode: 400,
        code: 'SEMID_ERR_BAD_INPUT',
        error: REASONS[400] as string,
        message: `invalid request: ${fe.message}`,
        details: {
          validation: fe.validation.slice(0, 20).map((v) => ({ path: v.instancePath ?? '', message: v.message ?? '' })),
        },
      },
      internal: false,
    };
  }
  const known = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known || (err instanceof SyntaxError && (fe.statusCode ?? 400) === 400)) {
    const [status, code] = known ?? [400, 'SEMID_ERR_PARSE' as ErrorCode];
    return {
      body: { statusCode: status, code, error: REASONS[status] ?? 'Bad Request', message: fe.message },
      internal: false,
    };
  }
  const sc = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (sc >= 400 && sc < 500) {
    return {
      body: {
        statusCode: sc,
        code: sc === 404 ? 'SEMID_ERR_NOT_FOUND' : sc === 401 ? 'SEMID_ERR_UNAUTHORIZED' : 'SEMID_ERR_BAD_INPUT',
        error: REASONS[sc] ?? 'Bad Request',
        message: fe.message,
      },
      internal: false,
    };
  }
  return {
    body: {
      statusCode: 500,
      code: 'SEMID_ERR_INTERNAL',
      error: REASONS[500] as string,
      message: 'internal error; the server log has the details',
    },
    internal: true,
  };
}
