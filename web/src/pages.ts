// The portal's page table: one entry per page. The router, the side menu and the permission checks
// are all generated from it, so adding a page is adding one entry here plus its view
// (see docs/portal.md). `permission` mirrors the server's permission names (GET /api/v1/auth/me →
// permissions); the server enforces the same on every API call behind the page.
import type { Component } from 'vue'
import {
  DataBoard, Monitor, User, Key, OfficeBuilding, Setting, Document, Lock,
} from '@element-plus/icons-vue'
import { Search as SearchIcon, Box, Aim } from '@element-plus/icons-vue'
import { Bell, Warning } from '@element-plus/icons-vue'
import type { Permission } from './api/types'

export type MenuGroup = 'overview' | 'operations' | 'system' | 'audit'
export const MENU_GROUPS: MenuGroup[] = ['overview', 'operations', 'system', 'audit']

export interface PageDef {
  path: string // under the main layout, without the leading '/'
  name: string
  titleKey: string // i18n key of the page title and menu entry
  component: () => Promise<unknown>
  // Permission needed to open the page; null: any signed-in user.
  permission: Permission | null
  // Shown in the side menu in this group (omit for pages reached otherwise).
  menu?: { group: MenuGroup; icon: Component; order: number }
  // The page needs this API ("GET /api/v1/incidents"); while the server's OpenAPI document lacks
  // it the menu entry is hidden and the page shows the "not yet available" state.
  requiresApi?: string
  // Full-screen page without the side menu (the duty-room wall).
  fullscreen?: boolean
}

export const pages: PageDef[] = [
  {
    path: 'dashboard', name: 'dashboard', titleKey: 'page.dashboard',
    component: () => import('./views/DashboardView.vue'),
    permission: 'dashboards.read', menu: { group: 'overview', icon: DataBoard, order: 10 },
  },
  {
    path: 'wall', name: 'wall', titleKey: 'page.wall',
    component: () => import('./views/WallView.vue'),
    permission: 'dashboards.read', menu: { group: 'overview', icon: Monitor, order: 20 }, fullscreen: true,
  },
  {
    path: 'events', name: 'events', titleKey: 'page.events',
    component: () => import('./views/EventsView.vue'),
    permission: 'events.read', menu: { group: 'operations', icon: SearchIcon, order: 30 },
    requiresApi: 'GET /api/v1/events',
  },
  {
    path: 'assets', name: 'assets', titleKey: 'page.assets',
    component: () => import('./views/AssetsView.vue'),
    permission: 'assets.read', menu: { group: 'operations', icon: Box, order: 40 },
    requiresApi: 'GET /api/v1/assets',
  },
  {
    path: 'rules', name: 'rules', titleKey: 'page.rules',
    component: () => import('./views/RulesView.vue'),
    permission: 'content.read', menu: { group: 'operations', icon: Aim, order: 50 },
    requiresApi: 'GET /api/v1/rules',
  },
  {
    path: 'incidents', name: 'incidents', titleKey: 'page.incidents',
    component: () => import('./views/IncidentsView.vue'),
    permission: 'incidents.read', menu: { group: 'operations', icon: Warning, order: 10 },
    requiresApi: 'GET /api/v1/triage/incidents',
  },
  {
    path: 'incidents/:id', name: 'incident', titleKey: 'page.incident',
    component: () => import('./views/IncidentDetailView.vue'),
    permission: 'incidents.read', requiresApi: 'GET /api/v1/triage/incidents/{id}',
  },
  {
    path: 'alerts', name: 'alerts', titleKey: 'page.alerts',
    component: () => import('./views/AlertsView.vue'),
    permission: 'alerts.read', menu: { group: 'operations', icon: Bell, order: 20 },
    requiresApi: 'GET /api/v1/triage/alerts',
  },
  {
    path: 'users', name: 'users', titleKey: 'page.users',
    component: () => import('./views/UsersView.vue'),
    permission: 'users.read', menu: { group: 'system', icon: User, order: 10 },
  },
  {
    path: 'tokens', name: 'tokens', titleKey: 'page.tokens',
    component: () => import('./views/TokensView.vue'),
    permission: 'tokens.manage', menu: { group: 'system', icon: Key, order: 20 },
  },
  {
    path: 'tenants', name: 'tenants', titleKey: 'page.tenants',
    component: () => import('./views/TenantsView.vue'),
    permission: 'tenants.read', menu: { group: 'system', icon: OfficeBuilding, order: 30 },
  },
  {
    path: 'config', name: 'config', titleKey: 'page.config',
    component: () => import('./views/ConfigView.vue'),
    permission: 'config.read', menu: { group: 'system', icon: Setting, order: 40 },
  },
  {
    path: 'audit', name: 'audit', titleKey: 'page.audit',
    component: () => import('./views/AuditView.vue'),
    permission: 'audit.read', menu: { group: 'audit', icon: Document, order: 10 },
  },
  {
    path: 'account/password', name: 'account-password', titleKey: 'page.password',
    component: () => import('./views/PasswordView.vue'),
    permission: null, menu: undefined,
  },
]

// Icon for the account menu (used by the layout).
export const accountIcon = Lock

export interface MenuSection {
  group: MenuGroup
  items: PageDef[]
}

// The side menu for a permission set: pages the user may open, whose API the server offers,
// grouped and ordered; empty groups are left out.
export function menuFor(
  perms: ReadonlySet<string>,
  hasApi: (spec: string) => boolean,
  table: PageDef[] = pages,
): MenuSection[] {
  const visible = table.filter(
    (p) => p.menu && (p.permission === null || perms.has(p.permission)) && (!p.requiresApi || hasApi(p.requiresApi)),
  )
  return MENU_GROUPS.map((group) => ({
    group,
    items: visible.filter((p) => p.menu!.group === group).sort((a, b) => a.menu!.order - b.menu!.order),
  })).filter((s) => s.items.length > 0)
}

// Where a user lands after login: the first menu page they may open, else their password page.
export function homeFor(perms: ReadonlySet<string>, hasApi: (spec: string) => boolean): string {
  for (const section of menuFor(perms, hasApi)) {
    const first = section.items.find((p) => !p.fullscreen)
    if (first) return '/' + first.path
  }
  return '/account/password'
}

export function pageByName(name: string): PageDef | undefined {
  return pages.find((p) => p.name === name)
}
