// Data behind the posture dashboard and the wall. Every figure comes from a real API call; a module
// whose API the server does not offer (per its OpenAPI document) is reported as 'pending' and
// shown as "尚未接入". When a module's list API lands (GET <path> → {"items": [...]}, optionally
// "total" and a cursor), its card lights up without changes here.
import { http } from './api/client'
import { hasApi } from './api/capabilities'
import type { ApiToken, User } from './api/types'
import type { Permission } from './api/types'
import type { Incident, NoiseReduction, SlaPolicy, TriageSummary } from './api/types'
import { triageApi } from './api/endpoints'
import { incidentPosture, SLA_STATES, type IncidentPosture, type SlaState } from './triage'
import { SEVERITIES, type Severity } from './api/types'

export interface ModuleDef {
  key: string
  titleKey: string
  api: string // list endpoint
  permission: Permission
  route?: string // portal page with the list, once it exists
  query?: Record<string, string | number> // list filter (limit: counts at the limit show as "≥ n")
  labelKey?: string // what the number counts (default: dashboard.total)
}

export const MODULES: ModuleDef[] = [
  { key: 'incidents', titleKey: 'dashboard.incidents', api: '/api/v1/triage/incidents', permission: 'incidents.read', route: '/incidents',
    query: { status: 'open', limit: 1000 }, labelKey: 'triage.openTotal' },
  { key: 'alerts', titleKey: 'dashboard.alerts', api: '/api/v1/triage/alerts', permission: 'alerts.read', route: '/alerts?status=open',
    query: { status: 'open', limit: 500 }, labelKey: 'alerts.openCount' }, // the server's largest alert page
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

export function countFrom(body: ListResponse, limit?: number): { count: number; atLeast: boolean } {
  const items = Array.isArray(body?.items) ? body.items : []
  if (typeof body?.total === 'number') return { count: body.total, atLeast: false }
  const more = body?.next_before !== undefined || body?.next !== undefined || body?.next_cursor !== undefined
  return { count: items.length, atLeast: more || (limit !== undefined && items.length >= limit) }
}

// GET /api/v1/triage/summary, shared by the callers of one refresh (the module cards and the triage
// cards ask at the same moment).
let summaryJob: { at: number; job: Promise<TriageSummary> } | null = null
export function triageSummary(): Promise<TriageSummary> {
  const now = Date.now()
  if (!summaryJob || now - summaryJob.at > 2000 || now < summaryJob.at) {
    const job = triageApi.summary()
    summaryJob = { at: now, job }
    job.catch(() => (summaryJob = null))
  }
  return summaryJob.job
}
// For tests.
export function forgetSummary(): void {
  summaryJob = null
}
export function hasSummary(can: (p: string) => boolean): boolean {
  return hasApi('/api/v1/triage/summary') && can('dashboards.read')
}

export async function moduleState(m: ModuleDef, can: (p: string) => boolean): Promise<ModuleState> {
  if (!hasApi(m.api)) return { kind: 'pending' }
  if (!can(m.permission)) return { kind: 'forbidden' }
  // Open incidents and alerts are counted by the server, not by listing a thousand of them.
  if ((m.key === 'incidents' || m.key === 'alerts') && hasSummary(can)) {
    try {
      const s = await triageSummary()
      const count = m.key === 'incidents' ? s.incidents?.open : s.alerts?.open
      if (typeof count === 'number') return { kind: 'count', count, atLeast: false, items: [] }
    } catch {
      // fall back to the list below
    }
  }
  try {
    const body = await http.get<ListResponse>(m.api, { query: m.query })
    const limit = m.query?.limit
    return { kind: 'count', ...countFrom(body, typeof limit === 'number' ? limit : undefined), items: Array.isArray(body?.items) ? body.items : [] }
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

// ---- incidents and noise reduction (triage API) ----
// Open incidents by severity and SLA state (GET /api/v1/triage/incidents?status=open plus the SLA
// policies; incidents.read) and alerts in versus incidents out over the last days
// (GET /api/v1/triage/noise-reduction; dashboards.read). Either part is null when the server lacks
// the API or the role may not read it.
export const INCIDENT_LIMIT = 1000
export const NOISE_DAYS = 7

export interface TriagePosture {
  incidents: Incident[] | null
  policies: SlaPolicy[]
  posture: IncidentPosture | null
  noise: NoiseReduction | null
  errors: string[]
}

export function localDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

// The posture figures from GET /triage/summary's "incidents" part.
export function postureFromSummary(s: NonNullable<TriageSummary['incidents']>): IncidentPosture {
  const bySeverity = Object.fromEntries(SEVERITIES.map((k) => [k, s.by_severity?.[k] ?? 0])) as Record<Severity, number>
  const bySla = Object.fromEntries([...SLA_STATES, 'none'].map((k) => [k, s.by_sla?.[k] ?? 0])) as Record<SlaState, number>
  return { open: s.open, atLeast: false, bySeverity, bySla }
}

// tickerLimit: also load that many newest open incidents and the SLA policies (the wall's ticker);
// 0: figures only (the dashboard). Without the summary API the figures come from a list of
// INCIDENT_LIMIT incidents as before.
export async function loadTriagePosture(can: (p: string) => boolean, now = Date.now(), tickerLimit = 0): Promise<TriagePosture> {
  const out: TriagePosture = { incidents: null, policies: [], posture: null, noise: null, errors: [] }
  const jobs: Promise<unknown>[] = []
  const summary = hasSummary(can) && can('incidents.read')
  if (summary)
    jobs.push(triageSummary()
      .then((s) => { if (s.incidents) out.posture = postureFromSummary(s.incidents) })
      .catch((e) => out.errors.push((e as Error).message)))
  if (summary && tickerLimit > 0 && hasApi('/api/v1/triage/incidents'))
    jobs.push(Promise.all([triageApi.incidents({ status: 'open', limit: tickerLimit }), triageApi.slaPolicies()])
      .then(([list, pol]) => {
        out.incidents = list.items
        out.policies = pol.items
      })
      .catch((e) => out.errors.push((e as Error).message)))
  if (!summary && hasApi('/api/v1/triage/incidents') && can('incidents.read'))
    jobs.push(Promise.all([triageApi.incidents({ status: 'open', limit: INCIDENT_LIMIT }), triageApi.slaPolicies()])
      .then(([list, pol]) => {
        out.incidents = list.items
        out.policies = pol.items
        out.posture = incidentPosture(list.items, pol.items, now, INCIDENT_LIMIT)
      })
      .catch((e) => out.errors.push((e as Error).message)))
  if (hasApi('/api/v1/triage/noise-reduction') && can('dashboards.read'))
    jobs.push(triageApi.noiseReduction(localDay(new Date(now - (NOISE_DAYS - 1) * 86400_000)), localDay(new Date(now)))
      .then((n) => (out.noise = n))
      .catch((e) => out.errors.push((e as Error).message)))
  await Promise.all(jobs)
  return out
}
