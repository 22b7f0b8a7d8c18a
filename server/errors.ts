/**
 * The one mapping from failures to HTTP answers. SemidErrors keep their code and the status
 * ERROR_CODES gives it; fastify's own errors (validation, bad JSON, body too large, wrong content
 * type, bad URL, rate limit...) get a stable semid code by their status; errors of the HTTP parser
 * (conflicting Content-Length, request timeout, oversized headers) are answered on the socket with
 * the same body; anything else is a logged 500 SEMID_ERR_INTERNAL that never echoes internals.
 */
import type { Socket } from 'node:net';
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
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** fastify error codes whose status alone does not pick the semid code. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SEMID_ERR_PARSE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'SEMID_ERR_PARSE',
};

/** The semid code of a 4xx / 503 status. */
function codeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'SEMID_ERR_UNAUTHORIZED';
    case 404:
      return 'SEMID_ERR_NOT_FOUND';
    case 408:
      return 'SEMID_ERR_TIMEOUT';
    case 409:
      return 'SEMID_ERR_CONFLICT';
    case 413:
    case 431:
      return 'SEMID_ERR_TOO_LARGE';
    case 415:
      return 'SEMID_ERR_MEDIA_TYPE';
    case 429:
      return 'SEMID_ERR_RATE_LIMITED';
    case 503:
      return 'SEMID_ERR_UNAVAILABLE';
    default:
      return 'SEMID_ERR_BAD_INPUT';
  }
}

const body = (statusCode: number, code: ErrorCode, message: string, details?: Record<string, unknown>): ErrorBody => ({
  statusCode,
  code,
  error: REASONS[statusCode] ?? 'Error',
  message,
  ...(details ? { details } : {}),
});

/** Builds the answer for `err`; `internal` is true when it should be logged as a server fault. */
export function toErrorBody(err: unknown): { body: ErrorBody; internal: boolean } {
  if (err instanceof SemidError) {
    const status = ERROR_CODES[err.code];
    return { body: body(status, err.code, err.message, err.details), internal: status >= 500 };
  }
  const fe = err as FastifyError & { validation?: { instancePath?: string; message?: string }[] };
  if (fe && Array.isArray(fe.validation)) {
    return {
      body: body(400, 'SEMID_ERR_BAD_INPUT', `invalid request: ${fe.message}`, {
        validation: fe.validation.slice(0, 20).map((v) => ({ path: v.instancePath ?? '', message: v.message ?? '' })),
      }),
      internal: false,
    };
  }
  const known = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return { body: body(400, known, fe.message), internal: false };
  if (err instanceof SyntaxError && (fe.statusCode ?? 400) === 400) {
    return { body: body(400, 'SEMID_ERR_PARSE', fe.message), internal: false };
  }
  const sc = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if ((sc >= 400 && sc < 500) || sc === 503) {
    const status = sc === 431 ? 413 : sc;
    return { body: body(status, codeOfStatus(sc), fe.message || REASONS[sc] || 'request refused'), internal: false };
  }
  return {
    body: body(500, 'SEMID_ERR_INTERNAL', 'internal error; the server log has the details'),
    internal: true,
  };
}

/** The answer to an error of the HTTP parser (before fastify sees a request). */
export function clientErrorBody(err: Error & { code?: string }): ErrorBody {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return body(408, 'SEMID_ERR_TIMEOUT', 'the request was not received in time; send it whole and promptly');
    case 'HPE_HEADER_OVERFLOW':
      return body(413, 'SEMID_ERR_TOO_LARGE', 'request headers too large');
    default:
      return body(
        400,
        'SEMID_ERR_BAD_INPUT',
        `malformed HTTP request (${err.code ?? 'parse error'}): check Content-Length, Transfer-Encoding and the request line`,
      );
  }
}

/** fastify `clientErrorHandler`: answers a parser error with a semid error body and closes the socket. */
export function handleClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy(err);
    return;
  }
  const b = clientErrorBody(err);
  const text = JSON.stringify(b);
  socket.end(
    `HTTP/1.1 ${b.statusCode} ${b.error}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
