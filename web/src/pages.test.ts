import { describe, expect, it } from 'vitest'
import { homeFor, menuFor, pages } from './pages'
import { decide } from './router'
import { PERMISSIONS, type Principal } from './api/types'

// Role → permissions as the server grants them (src/auth/permissions.cpp).
const ROLE_PERMS: Record<string, string[]> = {
  sysadmin: ['users.read', 'users.write', 'tenants.read', 'tenants.write', 'tokens.manage', 'config.read', 'metrics.read', 'ingest.write', 'dashboards.read'],
  auditor: ['audit.read'],
  viewer: ['dashboards.read', 'reports.read'],
}
const allApis = () => true
const names = (perms: string[]) => menuFor(new Set(perms), allApis).flatMap((s) => s.items.map((p) => p.name))

describe('permission-filtered menu', () => {
  it('shows a system administrator the administration pages but not the audit trail', () => {
    const n = names(ROLE_PERMS.sysadmin)
    expect(n).toEqual(expect.arrayContaining(['dashboard', 'wall', 'users', 'tokens', 'tenants', 'config']))
    expect(n).not.toContain('audit')
  })
  it('shows an auditor only the audit trail', () => {
    expect(names(ROLE_PERMS.auditor)).toEqual(['audit'])
    expect(homeFor(new Set(ROLE_PERMS.auditor), allApis)).toBe('/audit')
  })
  it('shows a viewer dashboards only', () => {
    expect(names(ROLE_PERMS.viewer)).toEqual(['dashboard', 'wall'])
    expect(homeFor(new Set(ROLE_PERMS.viewer), allApis)).toBe('/dashboard')
  })
  it('hides pages whose API the server does not offer yet', () => {
    const table = [...pages, { path: 'incidents', name: 'incidents', titleKey: 'dashboard.incidents', component: async () => ({}),
      permission: 'incidents.read' as const, menu: { group: 'operations' as const, icon: {}, order: 1 }, requiresApi: 'GET /api/v1/incidents' }]
    const perms = new Set(['incidents.read'])
    expect(menuFor(perms, () => false, table).flatMap((s) => s.items)).toHaveLength(0)
    expect(menuFor(perms, (s) => s === 'GET /api/v1/incidents', table)[0].items[0].name).toBe('incidents')
  })
  it('uses only permission names the server knows', () => {
    for (const p of pages) if (p.permission) expect(PERMISSIONS).toContain(p.permission)
  })
})

describe('navigation guard', () => {
  const principal = (over: Partial<Principal> = {}): Principal => ({
    user_id: 'u', username: 'v', role: 'viewer', role_name: '只读用户', provider_wide: false, home_tenant: 'default',
    tenant: 'default', must_change_password: false, permissions: ROLE_PERMS.viewer, kind: 'session', ...over,
  })
  const has = (p: Principal | null) => (perm: string | null | undefined) => !perm || !!p?.permissions.includes(perm)
  const route = (fullPath: string, meta: Record<string, unknown>, name = 'x') => ({ fullPath, meta, name })

  it('sends visitors without a session to login, keeping the target', () => {
    expect(decide(route('/users', { permission: 'users.read' }), null, has(null))).toEqual({ kind: 'login', redirect: '/users' })
  })
  it('refuses a viewer the admin pages even by URL', () => {
    const p = principal()
    expect(decide(route('/users', { permission: 'users.read' }), p, has(p))).toEqual({ kind: 'forbidden', from: '/users' })
    expect(decide(route('/audit', { permission: 'audit.read' }), p, has(p)).kind).toBe('forbidden')
    expect(decide(route('/dashboard', { permission: 'dashboards.read' }), p, has(p)).kind).toBe('allow')
  })
  it('forces the password change before anything else', () => {
    const p = principal({ must_change_password: true })
    expect(decide(route('/dashboard', { permission: 'dashboards.read' }), p, has(p))).toEqual({ kind: 'password-change', redirect: '/dashboard' })
    expect(decide(route('/password-change', { allowDuringPasswordChange: true }, 'password-change'), p, has(p)).kind).toBe('allow')
  })
})
