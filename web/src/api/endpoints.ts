// Typed calls, one per API operation the portal uses. New pages add theirs here.
import { http, setCsrfToken } from './client'
import type {
  ApiToken, AuditPage, ConfigEntry, Health, ListOf, Principal, Role, RoleId, Tenant, User,
} from './types'
import type {
  Alert, AlertPage, DutyShift, Incident, IncidentComment, IncidentDetail, IncidentEvidence, IncidentStatus, NoiseReduction, TriageSummary,
  SlaClockState, SlaPolicy, Suppression, VerdictName,
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

// ---- events, assets, rules (event search, assets ledger and detection rules pages) ----
import { buildUrl } from './client'
import type {
  Asset, AssetAttributeSpec, AssetHistoryEntry, AssetPage, AssetReview, BusinessSystem, EventDoc, EventFields, EventPage,
  HistogramBucket, ImportReport, Rule, RulePage, RuleStats,
} from './types'

export interface EventWindow {
  q?: string
  from?: string
  to?: string
}

export const eventsApi = {
  search: (w: EventWindow, limit = 100, cursor?: string) =>
    http.get<EventPage>(`${V1}/events`, { query: { ...w, limit, cursor } }),
  histogram: (w: EventWindow, interval = 'auto') =>
    http.get<HistogramBucket[]>(`${V1}/events/histogram`, { query: { ...w, interval } }),
  fields: (w: EventWindow, sample = 500) => http.get<EventFields>(`${V1}/events/fields`, { query: { ...w, sample } }),
  get: (id: string) => http.get<EventDoc>(`${V1}/events/${encodeURIComponent(id)}`),
  // A plain link (GET with the session cookie; the server sends it as an attachment).
  exportUrl: (w: EventWindow, format: 'csv' | 'ndjson') => buildUrl(`${V1}/events/export`, { ...w, format }),
}

export interface AssetFilter {
  kind?: string
  zone?: string
  business_system?: string
  status?: string
  q?: string
  ip?: string
  after?: string
  limit?: number
}

export const assetsApi = {
  attributes: () => http.get<ListOf<AssetAttributeSpec>>(`${V1}/asset-attributes`),
  list: (f: AssetFilter) => http.get<AssetPage>(`${V1}/assets`, { query: { ...f } }),
  get: (id: string) => http.get<Asset>(`${V1}/assets/${encodeURIComponent(id)}`),
  history: (id: string, limit = 200) =>
    http.get<ListOf<AssetHistoryEntry>>(`${V1}/assets/${encodeURIComponent(id)}/history`, { query: { limit } }),
  update: (id: string, body: { attributes?: Record<string, string | string[]>; status?: string; note?: string }) =>
    http.patch<Asset>(`${V1}/assets/${encodeURIComponent(id)}`, body),
  businessSystems: () => http.get<ListOf<BusinessSystem>>(`${V1}/business-systems`),
  reviews: (status = 'pending') => http.get<ListOf<AssetReview>>(`${V1}/asset-reviews`, { query: { status } }),
  decide: (id: string, accept: boolean) =>
    http.post<void>(`${V1}/asset-reviews/${encodeURIComponent(id)}/decision`, { accept }),
  import: (data: Blob | ArrayBuffer | string, format: 'csv' | 'xlsx') =>
    http.postRaw<ImportReport>(`${V1}/assets-import`, data,
      format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv; charset=utf-8',
      { query: { format } }),
  exportUrl: (format: 'csv' | 'xlsx', f: { kind?: string; business_system?: string } = {}) =>
    buildUrl(`${V1}/assets-export`, { format, ...f }),
}

export interface RuleFilter {
  q?: string
  level?: string
  tag?: string
  logsource?: string
  enabled?: boolean
  origin?: string
  offset?: number
  limit?: number
}

export const rulesApi = {
  list: (f: RuleFilter) => http.get<RulePage>(`${V1}/rules`, { query: { ...f } }),
  get: (id: string) => http.get<Rule>(`${V1}/rules/${encodeURIComponent(id)}`),
  stats: (limit = 20) => http.get<RuleStats>(`${V1}/rules/stats`, { query: { limit } }),
  setEnabled: (id: string, enabled: boolean) =>
    http.post<Rule>(`${V1}/rules/${encodeURIComponent(id)}/${enabled ? 'enable' : 'disable'}`, {}),
  upload: (yaml: string) => http.post<ListOf<Rule>>(`${V1}/rules`, { yaml }),
  remove: (id: string) => http.del<{ deleted: string }>(`${V1}/rules/${encodeURIComponent(id)}`),
}

// ---- triage (/api/v1/triage): alerts, incidents, suppressions, SLA, on-call, noise reduction ----
const TRIAGE = `${V1}/triage`
const enc = encodeURIComponent

export interface IncidentFilter {
  status?: string // a status or 'open'
  severity?: string
  owner?: string
  entity?: string // an entity key (host:pc7): incidents naming it among all their entities
  limit?: number
}
export interface AlertFilter {
  status?: string
  source?: string
  incident_id?: string
  since?: string
  after?: string // the previous page's next
  limit?: number // default 100, at most 500
}
export interface IncidentPatch {
  status?: IncidentStatus
  note?: string
  review?: string
  owner?: string
  impact?: string
  root_cause?: string
}

export const triageApi = {
  incidents: (f: IncidentFilter = {}) => http.get<ListOf<Incident>>(`${TRIAGE}/incidents`, { query: { ...f } }),
  incident: (id: string) => http.get<IncidentDetail>(`${TRIAGE}/incidents/${enc(id)}`),
  patchIncident: (id: string, p: IncidentPatch) => http.patch<Incident>(`${TRIAGE}/incidents/${enc(id)}`, p),
  comment: (id: string, body: string) => http.post<IncidentComment>(`${TRIAGE}/incidents/${enc(id)}/comments`, { body }),
  watch: (id: string, user_id: string, watch: boolean) =>
    http.post<unknown>(`${TRIAGE}/incidents/${enc(id)}/watchers`, { user_id, watch }),
  link: (id: string, kind: string, ref: string, note?: string) =>
    http.post<unknown>(`${TRIAGE}/incidents/${enc(id)}/links`, { kind, ref, note }),
  evidence: (id: string, e: { name: string; media_type?: string; content_base64url: string; description?: string }) =>
    http.post<IncidentEvidence>(`${TRIAGE}/incidents/${enc(id)}/evidence`, e),
  onsite: (id: string) => http.post<unknown>(`${TRIAGE}/incidents/${enc(id)}/onsite`, {}),
  slaPause: (id: string, paused: boolean, reason?: string) =>
    http.post<{ sla: SlaClockState[] }>(`${TRIAGE}/incidents/${enc(id)}/sla-pause`, { paused, reason }),
  incidentVerdict: (id: string, verdict: VerdictName, comment?: string) =>
    http.post<unknown>(`${TRIAGE}/incidents/${enc(id)}/verdict`, { verdict, comment }),
  report: (id: string) => http.get<Record<string, unknown>>(`${TRIAGE}/incidents/${enc(id)}/report`),
  alerts: (f: AlertFilter = {}) => http.get<AlertPage>(`${TRIAGE}/alerts`, { query: { ...f } }),
  alert: (id: string) => http.get<Alert>(`${TRIAGE}/alerts/${enc(id)}`),
  closeAlert: (id: string) => http.post<unknown>(`${TRIAGE}/alerts/${enc(id)}/close`, {}),
  alertVerdict: (id: string, verdict: VerdictName, comment?: string) =>
    http.post<unknown>(`${TRIAGE}/alerts/${enc(id)}/verdict`, { verdict, comment }),
  suppressFromAlert: (id: string, fields: string[], reason: string, expires_at: string) =>
    http.post<Suppression>(`${TRIAGE}/alerts/${enc(id)}/suppress`, { fields, reason, expires_at }),
  suppressions: (status?: string) => http.get<ListOf<Suppression>>(`${TRIAGE}/suppressions`, { query: { status } }),
  slaPolicies: () => http.get<ListOf<SlaPolicy>>(`${TRIAGE}/sla-policies`),
  onDutyNow: () => http.get<ListOf<DutyShift>>(`${TRIAGE}/oncall/now`),
  shifts: (from?: string, to?: string) => http.get<ListOf<DutyShift>>(`${TRIAGE}/oncall/shifts`, { query: { from, to } }),
  summary: () => http.get<TriageSummary>(`${TRIAGE}/summary`),
  noiseReduction: (from?: string, to?: string) => http.get<NoiseReduction>(`${TRIAGE}/noise-reduction`, { query: { from, to } }),
}
