// The JSON error body every non-PyBal route answers with, and the schemas that describe it.

/** `{error, message, where}`: a stable code, what is wrong and how to fix it, and where (param, path). */
export interface ApiErrorBody {
  error: string;
  message: string;
  where: string;
}

export const errorBodySchema = {
  type: 'object',
  required: ['error', 'message', 'where'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    where: { type: 'string' },
  },
  additionalProperties: false,
} as const;

/** Path segments of dc, LVS service names, cluster and service as conftool and pools/ allow them. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

/** `/:dc/:name`: one LVS service (PyBal section) of one dc. */
export const serviceParamsSchema = {
  type: 'object',
  required: ['dc', 'name'],
  properties: {
    dc: { type: 'string', pattern: NAME_PATTERN, maxLength: 253 },
    name: { type: 'string', pattern: NAME_PATTERN, maxLength: 253 },
  },
  additionalProperties: false,
} as const;

/** A route with no querystring accepts none, so typos (`?dc=` on a route without it) are reported. */
export const noQuerySchema = { type: 'object', properties: {}, additionalProperties: false } as const;

export const textBodySchema = { type: 'string' } as const;
