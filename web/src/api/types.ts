// Shapes of the medsoc HTTP API (docs/api.md; the server's GET /api/v1/openapi.json is authoritative).

// Permission names as the server spells them (src/auth/permissions.cpp).
export const PERMISSIONS = [
  'users.read', 'users.write', 'tenants.read', 'tenants.write', 'tokens.manage', 'config.read',
  'metrics.read', 'audit.read', 'content.read', 'content.write', 'alerts.read', 'alerts.write',
  'incidents.read', 'incidents.write', 'findings.read', 'findings.write', 'assets.read',
  'assets.write', 'events.read', 'ingest.write', 'dashboards.read', 'reports.read', 'reports.write',
] as const
export type Permission = (typeof PERMISSIONS)[number]

export const ROLES = ['sysadmin', 'secadmin', 'analyst', 'auditor', 'viewer'] as const
export type RoleId = (typeof ROLES)[number]

export interface Principal {
  user_id: string
  username: string
  role: RoleId
  role_name: string
  provider_wide: boolean
  home_tenant: string
  tenant: string
  must_change_password: boolean
  permissions: string[]
  kind: 'session' | 'token'
  csrf_token?: string
}

export interface User {
  id: string
  tenant: string
  username: string
  display_name: string
  role: RoleId
  provider_wide: boolean
  disabled: boolean
  must_change_password: boolean
  locked_until: string | null
  password_changed_at: string | null
  created_at: string | null
  last_login_at: string | null
}

export interface Role {
  id: RoleId
  name: string
  permissions: string[]
}

export interface ApiToken {
  id: string
  tenant: string
  name: string
  role: string
  scopes: string[]
  created_by: string
  created_at: string | null
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  secret?: string
}

export interface Tenant {
  id: string
  name: string
  created_at: string | null
}

export interface AuditRecord {
  seq: number
  time: string
  tenant: string
  user: string
  role: string
  source_ip: string
  action: string
  target: string
  outcome: 'success' | 'failure' | 'denied' | string
  detail: string
  hash: string
  prev_hash: string
}

export interface AuditPage {
  items: AuditRecord[]
  next_before?: number
}

export interface ConfigEntry {
  key: string
  value: string
  default: string
  secret: boolean
}

export interface Health {
  status: string
  version?: string
}

export interface ListOf<T> {
  items: T[]
}
