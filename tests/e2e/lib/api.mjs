// A small client of medsoc's HTTP API for seeding end-to-end tests and benchmarks: a session
// (cookie + CSRF token, as the portal holds them) or an API token, and the set-up steps every
// seeded run needs (the first administrator's forced password change, users of other roles).

export class ApiSession {
  constructor(base, { token } = {}) {
    this.base = base
    this.cookie = ''
    this.csrf = ''
    this.token = token ?? ''
  }

  async call(method, path, body, { raw, contentType, headers = {} } = {}) {
    const h = { accept: 'application/json', ...headers }
    if (this.cookie) h.cookie = this.cookie
    if (this.token) h.authorization = 'Bearer ' + this.token
    if (this.csrf && method !== 'GET' && method !== 'HEAD') h['x-csrf-token'] = this.csrf
    let data
    if (raw !== undefined) {
      h['content-type'] = contentType ?? 'application/octet-stream'
      data = raw
    } else if (body !== undefined) {
      h['content-type'] = 'application/json'
      data = JSON.stringify(body)
    }
    const res = await fetch(this.base + path, { method, headers: h, body: data })
    const cookies = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : []
    for (const c of cookies) {
      const pair = c.split(';')[0]
      if (pair.startsWith('medsoc_session=') || /^[\w-]*session[\w-]*=/i.test(pair)) this.cookie = pair
    }
    const text = await res.text()
    let json = null
    try {
      json = text ? JSON.parse(text) : null
    } catch {
      json = null
    }
    return { status: res.status, json, text, headers: res.headers }
  }

  async ok(method, path, body, opts) {
    const r = await this.call(method, path, body, opts)
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 400)}`)
    return r.json
  }

  async login(username, password) {
    this.cookie = ''
    const p = await this.ok('POST', '/api/v1/auth/login', { username, password })
    this.csrf = p.csrf_token ?? ''
    return p
  }

  // Logs in, changes the password when the server demands it, and logs in again with the new one.
  async loginChanging(username, initial, password) {
    const p = await this.login(username, initial)
    if (!p.must_change_password) return p
    await this.ok('POST', '/api/v1/auth/password', { current_password: initial, new_password: password })
    return this.login(username, password)
  }
}

// The first administrator (its one-time password from the server's output) with a new password,
// and a user of `role` created by it and logged in (their own forced change done).
export async function seedUsers(base, firstPassword, adminPassword, users = []) {
  const admin = new ApiSession(base)
  await admin.loginChanging('admin', firstPassword, adminPassword)
  const sessions = {}
  for (const u of users) {
    await admin.ok('POST', '/api/v1/users', { username: u.username, role: u.role, password: u.initial })
    const s = new ApiSession(base)
    await s.loginChanging(u.username, u.initial, u.password)
    sessions[u.username] = s
  }
  return { admin, ...sessions }
}
