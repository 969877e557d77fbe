// The portal's only way to the server. Every call goes to the same origin with the session cookie
// (credentials 'same-origin'); state-changing calls carry X-CSRF-Token. The CSRF token lives in
// this module's memory only (never localStorage/sessionStorage): a reload fetches it again from
// GET /api/v1/auth/me.
//
// Errors become ApiError with the server's code and message ({"error":{"code","message"}}).
// A 401 outside the login call and a 403 password_change_required are also reported to the
// handlers the app installs (go to the login page / the forced password change page).

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  // The server's whole "error" object (e.g. a rule upload's "problems" with line and column).
  readonly details?: Record<string, unknown>
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }
}

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface RequestOptions {
  body?: unknown
  // A body sent as is (a CSV or XLSX upload) instead of JSON.
  raw?: { data: Blob | ArrayBuffer | string; contentType: string }
  query?: Record<string, string | number | boolean | undefined | null>
  signal?: AbortSignal
  // Do not call the global 401 handler (the login form shows the message itself).
  quietUnauthenticated?: boolean
}

export interface ClientHandlers {
  onUnauthenticated?: (error: ApiError) => void
  onPasswordChangeRequired?: (error: ApiError) => void
}

let csrfToken: string | null = null
let handlers: ClientHandlers = {}
let fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args)

export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token || null
}

export function hasCsrfToken(): boolean {
  return csrfToken !== null
}

export function setClientHandlers(h: ClientHandlers): void {
  handlers = h
}

// Tests replace fetch.
export function setFetch(f: typeof fetch): void {
  fetchImpl = f
}

export function isStateChanging(method: Method): boolean {
  return method !== 'GET' && method !== 'HEAD'
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue
    params.append(k, String(v))
  }
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

async function errorFrom(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status
  let message = res.statusText || `HTTP ${res.status}`
  let details: Record<string, unknown> | undefined
  try {
    const text = await res.text()
    if (text) {
      const body = JSON.parse(text)
      if (body && typeof body === 'object' && body.error) {
        code = String(body.error.code ?? code)
        message = String(body.error.message ?? message)
        if (typeof body.error === 'object') details = body.error
      }
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status text.
  }
  return new ApiError(res.status, code, message, details)
}

export async function request<T>(method: Method, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  let body: BodyInit | undefined
  if (opts.raw) {
    headers['Content-Type'] = opts.raw.contentType
    body = opts.raw.data
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  if (isStateChanging(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken

  let res: Response
  try {
    res = await fetchImpl(buildUrl(path, opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    })
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e
    throw new ApiError(0, 'network', (e as Error)?.message || 'network error')
  }

  if (!res.ok) {
    const err = await errorFrom(res)
    if (err.status === 401 && !opts.quietUnauthenticated) {
      csrfToken = null
      handlers.onUnauthenticated?.(err)
    } else if (err.status === 403 && err.code === 'password_change_required') {
      handlers.onPasswordChangeRequired?.(err)
    }
    throw err
  }
  if (res.status === 204 || method === 'HEAD') return undefined as T
  const text = await res.text()
  if (!text) return undefined as T
  const ct = res.headers.get('content-type') ?? ''
  return (ct.includes('json') ? JSON.parse(text) : text) as T
}

export const http = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, { ...opts, body: body ?? {} }),
  postRaw: <T>(path: string, data: Blob | ArrayBuffer | string, contentType: string, opts?: RequestOptions) =>
    request<T>('POST', path, { ...opts, raw: { data, contentType } }),
  patch: <T>(path: string, body: unknown, opts?: RequestOptions) => request<T>('PATCH', path, { ...opts, body }),
  put: <T>(path: string, body: unknown, opts?: RequestOptions) => request<T>('PUT', path, { ...opts, body }),
  del: <T>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
}

// The message to show for any failure.
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message
  if (e instanceof Error) return e.message
  return String(e)
}
