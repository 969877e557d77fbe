import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, request, setClientHandlers, setCsrfToken, setFetch, buildUrl, hasCsrfToken } from './client'
import { authApi } from './endpoints'

type Call = { url: string; init: RequestInit }

function fakeFetch(status: number, body: unknown, calls: Call[]) {
  return vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} })
    const text = body === undefined ? '' : JSON.stringify(body)
    return new Response(status === 204 ? null : text, { status, headers: { 'content-type': 'application/json' } })
  }) as unknown as typeof fetch
}

afterEach(() => {
  setCsrfToken(null)
  setClientHandlers({})
})

describe('api client', () => {
  it('keeps the CSRF token from login in memory and sends it on state-changing calls only', async () => {
    const calls: Call[] = []
    setFetch(fakeFetch(200, { username: 'admin', csrf_token: 'tok-123', permissions: [] }, calls))
    await authApi.login('admin', 'pw')
    expect(hasCsrfToken()).toBe(true)
    expect(localStorage.length).toBe(0)
    expect(sessionStorage.length).toBe(0)

    setFetch(fakeFetch(200, { items: [] }, calls))
    await request('GET', '/api/v1/users')
    await request('POST', '/api/v1/users', { body: { username: 'x' } })
    await request('DELETE', '/api/v1/tokens/1')
    const h = (i: number) => (calls[i].init.headers ?? {}) as Record<string, string>
    expect(h(1)['X-CSRF-Token']).toBeUndefined()
    expect(h(2)['X-CSRF-Token']).toBe('tok-123')
    expect(h(3)['X-CSRF-Token']).toBe('tok-123')
    for (const c of calls) expect(c.init.credentials).toBe('same-origin')
    expect(h(2)['Content-Type']).toBe('application/json')
  })

  it('turns the server error body into ApiError with its message', async () => {
    setFetch(fakeFetch(409, { error: { code: 'already_exists', message: 'user exists' } }, []))
    const err = await request('POST', '/api/v1/users', { body: {} }).catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(409)
    expect(err.code).toBe('already_exists')
    expect(err.message).toBe('user exists')
  })

  it('reports 401 to the handler and forgets the token, except for quiet calls', async () => {
    const onUnauthenticated = vi.fn()
    setClientHandlers({ onUnauthenticated })
    setCsrfToken('abc')
    setFetch(fakeFetch(401, { error: { code: 'unauthenticated', message: 'session expired' } }, []))
    await expect(request('GET', '/api/v1/users')).rejects.toThrow('session expired')
    expect(onUnauthenticated).toHaveBeenCalledTimes(1)
    expect(hasCsrfToken()).toBe(false)
    await expect(authApi.login('a', 'b')).rejects.toBeInstanceOf(ApiError)
    expect(onUnauthenticated).toHaveBeenCalledTimes(1)
  })

  it('reports 403 password_change_required but not other 403s', async () => {
    const onPasswordChangeRequired = vi.fn()
    setClientHandlers({ onPasswordChangeRequired })
    setFetch(fakeFetch(403, { error: { code: 'password_change_required', message: 'change it' } }, []))
    await expect(request('GET', '/api/v1/users')).rejects.toThrow('change it')
    setFetch(fakeFetch(403, { error: { code: 'forbidden', message: 'no' } }, []))
    await expect(request('GET', '/api/v1/users')).rejects.toThrow('no')
    expect(onPasswordChangeRequired).toHaveBeenCalledTimes(1)
  })

  it('maps network failures and 204 responses', async () => {
    setFetch(vi.fn(async () => { throw new TypeError('Failed to fetch') }) as unknown as typeof fetch)
    const err = await request('GET', '/x').catch((e) => e)
    expect(err.status).toBe(0)
    expect(err.code).toBe('network')
    setFetch(fakeFetch(204, undefined, []))
    await expect(request('POST', '/api/v1/auth/password', { body: {} })).resolves.toBeUndefined()
  })

  it('builds query strings without empty values', () => {
    expect(buildUrl('/api/v1/audit', { user: 'a b', action: '', before: 10, to: undefined })).toBe('/api/v1/audit?user=a+b&before=10')
    expect(buildUrl('/x', {})).toBe('/x')
  })
})
