// Routes generated from the page table (pages.ts) plus the pages outside the main layout.
// The guard sends a visitor without a session to the login page, a user who must change their
// password to the forced change page, and a user lacking a page's permission to the 403 page —
// even when they type the URL. (The server refuses the API calls behind the page regardless.)
import { createRouter, createWebHistory, type RouteLocationNormalized, type RouteRecordRaw } from 'vue-router'
import { pages, homeFor } from './pages'
import { can, permissions, restoreSession, session } from './session'
import { hasApi, loadCapabilities } from './api/capabilities'
import type { Principal } from './api/types'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    permission?: string | null
    titleKey?: string
    requiresApi?: string
    allowDuringPasswordChange?: boolean
  }
}

export function buildRoutes(): RouteRecordRaw[] {
  const inLayout = pages.filter((p) => !p.fullscreen)
  const fullscreen = pages.filter((p) => p.fullscreen)
  return [
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true, titleKey: 'page.login' } },
    {
      path: '/password-change', name: 'password-change', component: () => import('./views/ForcedPasswordView.vue'),
      meta: { permission: null, titleKey: 'page.forcedPassword', allowDuringPasswordChange: true },
    },
    ...fullscreen.map((p) => ({
      path: '/' + p.path, name: p.name, component: p.component,
      meta: { permission: p.permission, titleKey: p.titleKey, requiresApi: p.requiresApi },
    })),
    {
      path: '/',
      component: () => import('./layouts/MainLayout.vue'),
      children: [
        { path: '', name: 'home', component: () => import('./views/HomeRedirect.vue'), meta: { permission: null } },
        ...inLayout.map((p) => ({
          path: p.path, name: p.name, component: p.component,
          meta: { permission: p.permission, titleKey: p.titleKey, requiresApi: p.requiresApi },
        })),
        { path: '403', name: 'forbidden', component: () => import('./views/ForbiddenView.vue'), meta: { permission: null, titleKey: 'page.forbidden' } },
        { path: ':pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { permission: null, titleKey: 'page.notFound' } },
      ],
    },
  ]
}

export type GuardDecision =
  | { kind: 'allow' }
  | { kind: 'login'; redirect: string }
  | { kind: 'password-change'; redirect: string }
  | { kind: 'forbidden'; from: string }
  | { kind: 'home' }

// Pure decision for one navigation (unit-tested).
export function decide(
  to: Pick<RouteLocationNormalized, 'fullPath' | 'meta' | 'name'>,
  principal: Principal | null,
  has: (permission: string | null | undefined) => boolean,
): GuardDecision {
  if (to.meta.public) {
    return principal && to.name === 'login' && !principal.must_change_password ? { kind: 'home' } : { kind: 'allow' }
  }
  if (!principal) return { kind: 'login', redirect: to.fullPath }
  if (principal.must_change_password && !to.meta.allowDuringPasswordChange)
    return { kind: 'password-change', redirect: to.fullPath }
  const perm = to.meta.permission
  if (perm && !has(perm)) return { kind: 'forbidden', from: to.fullPath }
  return { kind: 'allow' }
}

export function createPortalRouter() {
  const router = createRouter({ history: createWebHistory(), routes: buildRoutes() })
  router.beforeEach(async (to) => {
    await Promise.all([restoreSession(), loadCapabilities()])
    const d = decide(to, session.principal, can)
    switch (d.kind) {
      case 'allow':
        return true
      case 'home':
        return homeFor(permissions.value, hasApi)
      case 'login':
        return { name: 'login', query: d.redirect && d.redirect !== '/' ? { redirect: d.redirect } : {} }
      case 'password-change':
        return { name: 'password-change', query: d.redirect && d.redirect !== '/' ? { redirect: d.redirect } : {} }
      case 'forbidden':
        return { name: 'forbidden', query: { from: d.from } }
    }
  })
  return router
}

// Only same-site paths are followed after login (no open redirect).
export function safeRedirect(target: unknown): string | null {
  if (typeof target !== 'string') return null
  if (!target.startsWith('/') || target.startsWith('//') || target.startsWith('/\\')) return null
  return target
}
