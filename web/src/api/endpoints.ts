// Typed calls, one per API operation the portal uses. New pages add theirs here.
import { http, setCsrfToken } from './client'
import type {
  ApiToken, AuditPage, ConfigEntry, Health, ListOf, Principal, Role, RoleId, Tenant, User,
} from './types'

const V1 = '/api/v1'

function keepCsrf(p: Principal): Principal {
  setCsrfToken(p.csrf_token)
  return p
}

export const authApi = {
  async login(username: string, password: string): Promise<Principal> {
    return keepCsrf(await http.post<Principal>(`${V1}/auth/login`, { username, password }, { quietUnauthenticated: true }))
  },
  async me(): Promise<Principal> {
    return keepCsrf(await http.get<Principal>(`${V1}/auth/me`, { quietUnauthenticated: true }))
  },
  async logout(): Promise<void> {
    try {
      await http.post<void>(`${V1}/auth/logout`, {}, { quietUnauthenticated: true })
    } finally {
      setCsrfToken(null)
    }
  },
  changePassword(current_password: string, new_password: string): Promise<void> {
    return http.post<void>(`${V1}/auth/password`, { current_password, new_password })
  },
  async switchTenant(tenant: string): Promise<Principal> {
    return keepCsrf(await http.post<Principal>(`${V1}/auth/tenant`, { tenant }))
  },
}

export interface NewUser {
  username: string
  display_name?: string
  role: RoleId
  password: string
  provider_wide?: boolean
}

export const usersApi = {
  list: () => http.get<ListOf<User>>(`${V1}/users`),
  create: (u: NewUser) => http.post<User>(`${V1}/users`, u),
  update: (id: string, patch: { role?: RoleId; display_name?: string; disabled?: boolean; unlock?: boolean }) =>
    http.patch<User>(`${V1}/users/${encodeURIComponent(id)}`, patch),
  resetPassword: (id: string, password: string) =>
    http.post<void>(`${V1}/users/${encodeURIComponent(id)}/password`, { password }),
  roles: () => http.get<ListOf<Role>>(`${V1}/roles`),
}

export const tokensApi = {
  list: () => http.get<ListOf<ApiToken>>(`${V1}/tokens`),
  create: (name: string, scopes: string[], expires_in_days: number) =>
    http.post<ApiToken>(`${V1}/tokens`, { name, scopes, expires_in_days }),
  revoke: (id: string) => http.del<void>(`${V1}/tokens/${encodeURIComponent(id)}`),
}

export const tenantsApi = {
  list: () => http.get<ListOf<Tenant>>(`${V1}/tenants`),
  create: (id: string, name: string) => http.post<Tenant>(`${V1}/tenants`, { id, name }),
}

export interface AuditFilter {
  from?: string
  to?: string
  user?: string
  action?: string
  outcome?: string
  before?: number
  limit?: number
}

export const auditApi = {
  list: (f: AuditFilter) => http.get<AuditPage>(`${V1}/audit`, { query: { ...f } }),
}

export const systemApi = {
  config: () => http.get<ListOf<ConfigEntry>>(`${V1}/config`),
  health: () => http.get<Health>('/healthz'),
}
