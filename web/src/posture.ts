// Data behind the posture dashboard and the wall. Every figure comes from a real API call; a module
// whose API the server does not offer (per its OpenAPI document) is reported as 'pending' and
// shown as "尚未接入". When a module's list API lands (GET <path> → {"items": [...]}, optionally
// "total" and a cursor), its card lights up without changes here.
import { http } from './api/client'
import { hasApi } from './api/capabilities'
import type { ApiToken, User } from './api/types'
import type { Permission } from './api/types'

export interface ModuleDef {
  key: string
  titleKey: string
  api: string // list endpoint
  permission: Permission
  route?: string // portal page with the list, once it exists
}

export const MODULES: ModuleDef[] = [
  { key: 'incidents', titleKey: 'dashboard.incidents', api: '/api/v1/incidents', permission: 'incidents.read', route: '/incidents' },
  { key: 'alerts', titleKey: 'dashboard.alerts', api: '/api/v1/alerts', permission: 'alerts.read', route: '/alerts' },
  { key: 'events', titleKey: 'dashboard.events', api: '/api/v1/events', permission: 'events.read', route: '/events' },
  { key: 'assets', titleKey: 'dashboard.assets', api: '/api/v1/assets', permission: 'assets.read', route: '/assets' },
  { key: 'findings', titleKey: 'dashboard.findings', api: '/api/v1/findings', permission: 'findings.read', route: '/findings' },
  { key: 'rules', titleKey: 'dashboard.rules', api: '/api/v1/rules', permission: 'content.read', route: '/rules' },
]

export type ModuleState =
  | { kind: 'pending' } // the server has no such API yet
  | { kind: 'forbidden' } // the user's role may not read it
  | { kind: 'error'; message: string }
  | { kind: 'count'; count: number; atLeast: boolean; items: Record<string, unknown>[] }

interface ListResponse {
  items?: Record<string, unknown>[]
  total?: number
  next_before?: unknown
  next?: unknown
  next_cursor?: unknown
}

export function countFrom(body: ListResponse): { count: number; atLeast: boolean } {
  const items = Array.isArray(body?.items) ? body.items : []
  if (typeof body?.total === 'number') return { count: body.total, atLeast: false }
  const more = body?.next_before !== undefined || body?.next !== undefined || body?.next_cursor !== undefined
  return { count: items.length, atLeast: more }
}

export async function moduleState(m: ModuleDef, can: (p: string) => boolean): Promise<ModuleState> {
  if (!hasApi(m.api)) return { kind: 'pending' }
  if (!can(m.permission)) return { kind: 'forbidden' }
  try {
    const body = await http.get<ListResponse>(m.api)
    return { kind: 'count', ...countFrom(body), items: Array.isArray(body?.items) ? body.items : [] }
  } catch (e) {
    return { kind: 'error', message: (e as Error).message }
  }
}

export interface AccountStats {
  total: number
  locked: number
  disabled: number
  pending: number
  neverLogged: number
  byRole: Record<string, number>
}

export function accountStats(users: User[], now = Date.now()): AccountStats {
  const s: AccountStats = { total: users.length, locked: 0, disabled: 0, pending: 0, neverLogged: 0, byRole: {} }
  for (const u of users) {
    if (u.locked_until && new Date(u.locked_until).getTime() > now) s.locked++
    if (u.disabled) s.disabled++
    if (u.must_change_password) s.pending++
    if (!u.last_login_at) s.neverLogged++
    s.byRole[u.role] = (s.byRole[u.role] ?? 0) + 1
  }
  return s
}

export interface TokenStats {
  active: number
  expiring: number
  inactive: number
}

export function tokenStats(tokens: ApiToken[], now = Date.now()): TokenStats {
  const soon = now + 14 * 86400_000
  const s: TokenStats = { active: 0, expiring: 0, inactive: 0 }
  for (const tk of tokens) {
    const exp = tk.expires_at ? new Date(tk.expires_at).getTime() : Infinity
    if (tk.revoked_at || exp <= now) {
      s.inactive++
      continue
    }
    s.active++
    if (exp <= soon) s.expiring++
  }
  return s
}
