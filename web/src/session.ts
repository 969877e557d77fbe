// The signed-in principal, held in memory. Reloading the page asks the server again
// (GET /api/v1/auth/me); nothing about the session is written to browser storage.
import { computed, reactive } from 'vue'
import { authApi } from './api/endpoints'
import type { Principal } from './api/types'

export const session = reactive({
  principal: null as Principal | null,
  checked: false, // GET /auth/me has been tried once since the page loaded
})

export const permissions = computed(() => new Set(session.principal?.permissions ?? []))

export function can(permission: string | null | undefined): boolean {
  if (!permission) return session.principal !== null
  return permissions.value.has(permission)
}

export function setPrincipal(p: Principal | null): void {
  session.principal = p
  session.checked = true
}

export async function restoreSession(): Promise<Principal | null> {
  if (session.checked) return session.principal
  try {
    setPrincipal(await authApi.me())
  } catch {
    setPrincipal(null)
  }
  return session.principal
}

export async function login(username: string, password: string): Promise<Principal> {
  const p = await authApi.login(username, password)
  setPrincipal(p)
  return p
}

export async function logout(): Promise<void> {
  try {
    await authApi.logout()
  } finally {
    setPrincipal(null)
  }
}

export async function switchTenant(tenant: string): Promise<Principal> {
  const p = await authApi.switchTenant(tenant)
  setPrincipal(p)
  return p
}
