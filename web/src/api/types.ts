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

// ---- events (src/api/routes_events.cpp; the event JSON: src/event/json.h) ----
export interface EventDoc {
  id: string
  time: string
  time_text?: string
  ingest_time?: string
  source?: string
  raw?: string
  parse_error?: string
  fields?: Record<string, unknown>
  original?: Record<string, unknown>
  time_clamped?: boolean
  invalid_utf8?: boolean
}
export interface EventPage {
  items: EventDoc[]
  next_cursor: string | null
}
export interface HistogramBucket {
  time: string
  count: number
}
export interface EventField {
  name: string
  count: number
  original: boolean
}
export interface EventFields {
  sampled: number
  items: EventField[]
}

// ---- assets (src/api/routes_assets.cpp, docs/assets.md) ----
export interface AttributeValue {
  value: string | string[]
  source: string
  at: string | null
  by: string
}
export interface TlsInfo {
  version: string
  versions: string[]
  cipher: string
  subject: string
  issuer: string
  sans: string[]
  not_before: string
  not_after: string
  sha256: string
  self_signed: boolean
}
export interface AssetService {
  port: number
  proto: string
  state: 'open' | 'closed'
  service: string
  product: string
  version: string
  cpe: string
  banner: string
  tls: TlsInfo | null
  extra: Record<string, string>
  source: string
  first_seen: string | null
  last_seen: string | null
}
export interface AssetSoftware {
  name: string
  version: string
  cpe: string
  purl: string
  source: string
  first_seen: string | null
  last_seen: string | null
}
export interface Asset {
  id: string
  status: 'active' | 'offline' | 'retired'
  first_seen: string | null
  last_seen: string | null
  created_at: string | null
  updated_at: string | null
  attributes: Record<string, AttributeValue>
  services: AssetService[]
  software: AssetSoftware[]
}
export interface AssetPage {
  items: Asset[]
  next?: string
}
export interface AssetHistoryEntry {
  id: number
  at: string | null
  attribute: string
  old: string
  new: string
  source: string
  actor: string
  note: string
}
export interface AssetAttributeSpec {
  name: string
  zh: string
  en: string
  type: 'text' | 'list' | 'enum' | 'level'
  values: { name: string; zh: string }[]
}
export interface BusinessSystem {
  id: string
  name: string
  mlps_level: number
  owner_department: string
  owner: string
  description: string
}
export interface AssetReview {
  id: string
  asset_id: string
  attribute: string
  current: string
  proposed: string
  source: string
  proposed_at: string | null
  proposed_by: string
  status: string
  decided_at: string | null
  decided_by: string
}
export interface ImportProblem {
  line: number
  column: number
  message: string
}
export interface ImportReport {
  created: number
  updated: number
  unchanged: number
  problems: ImportProblem[]
}

// ---- detection rules (src/api/routes_rules.cpp) ----
export type RuleLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical'
export interface Rule {
  id: string
  name: string
  title: string
  description: string
  level: RuleLevel | string
  status: string
  tags: string[]
  falsepositives: string[]
  logsource: { product: string; category: string; service: string }
  kind: 'detection' | 'correlation' | string
  correlation_type?: string
  origin: 'builtin' | 'sigmahq' | 'custom' | string
  enabled: boolean
  file: string
  line: number
  stats: { hits: number; evaluations: number; avg_cost_ns: number }
  source?: string
}
export interface RulePage {
  items: Rule[]
  total: number
  offset: number
  limit: number
}
export interface RuleStats {
  top: Rule[]
  summary: { loaded: number; unsupported: number; errors: number; warnings: number }
}
export interface RuleProblem {
  line: number
  column: number
  severity: string
  rule_id: string
  reason: string
  text: string
}

// ---- triage: alerts, incidents, suppressions (src/api/routes_triage.cpp, /api/v1/triage) ----
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const
export type Severity = (typeof SEVERITIES)[number]
export const INCIDENT_STATUSES = ['new', 'acknowledged', 'investigating', 'contained', 'resolved', 'closed'] as const
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number]
export const VERDICTS = ['true_positive', 'false_positive', 'benign_true_positive'] as const
export type VerdictName = (typeof VERDICTS)[number]

export interface Alert {
  id: string
  source: string
  rule_id: string
  rule_title: string
  level: string
  attack_tactic: string
  attack_technique: string
  host: string
  user: string
  src_ip: string
  dst_ip: string
  asset_id: string
  entities: string[]
  score: number
  count: number
  first_seen: string | null
  last_seen: string | null
  status: 'open' | 'suppressed' | 'in_incident' | 'closed' | string
  suppression: string
  suppressed_by: string
  incident_id: string
  last_event_id: string
  matched_fields: Record<string, string>
  intel_hits: string[]
  blocked: boolean
  verdict: VerdictName | null
}

// GET /triage/alerts: a page, newest last_seen first; next: the cursor for `after` when more may follow.
export interface AlertPage {
  items: Alert[]
  next?: string
}

export interface Incident {
  id: string
  number: string
  title: string
  severity: Severity
  status: IncidentStatus
  score: number
  risk: number
  raised_by: string
  source: string
  owner: string
  watchers: string[]
  entity_count: number // entity keys of the incident
  entities: string[] // the list: only the first 10 (entities_truncated then); the detail: all
  entities_truncated: boolean
  tactics: string[]
  techniques: string[]
  alert_count: number // alerts linked to the incident
  alert_ids: string[] // the list: only the newest 5 (alert_ids_truncated then); the detail: all
  alert_ids_truncated: boolean
  event_count: number
  merged_into: string
  verdict: VerdictName | null
  review: string
  impact: string
  root_cause: string
  created_at: string | null
  updated_at: string | null
  first_seen: string | null
  last_seen: string | null
  acknowledged_at: string | null
  investigating_at: string | null
  onsite_at: string | null
  contained_at: string | null
  resolved_at: string | null
  closed_at: string | null
  sla_paused: boolean
  escalation_tier: number
  breaches: string[]
}

export interface SlaClockState {
  clock: 'acknowledge' | 'respond' | 'onsite' | 'resolve' | string
  target_minutes: number
  met_at: string | null
  due_at: string | null
  elapsed_seconds: number
  breached: boolean
  paused: boolean
}

export interface TimelineEntry {
  at: string | null
  actor: string
  kind: string
  detail: string
}

export interface IncidentComment {
  id: string
  author: string
  body: string
  created_at: string | null
}

export interface IncidentLink {
  kind: 'event' | 'asset' | 'finding' | 'incident' | 'alert' | string
  ref: string
  note: string
  added_by: string
  added_at: string
}

export interface IncidentEvidence {
  id: string
  name: string
  media_type: string
  size: number
  sha256: string
  description: string
  added_by: string
  added_at: string
}

export interface IncidentDetail extends Incident {
  timeline: TimelineEntry[]
  comments: IncidentComment[]
  links: IncidentLink[]
  evidence: IncidentEvidence[]
  sla: SlaClockState[]
}

export interface Suppression {
  id: string
  status: string
  rule_id: string
  conditions: { field: string; values: string[] }[]
  asset_group: string
  reason: string
  author: string
  approved_by: string
  origin: string
  created_at: string | null
  expires_at: string | null
  hits: number
  last_hit_at: string | null
}

export interface SlaPolicy {
  severity: Severity
  ack_minutes: number
  respond_minutes: number
  onsite_minutes: number
  resolve_minutes: number
  pause_statuses: IncidentStatus[]
}

export interface DutyShift {
  id: string
  user_id: string
  display: string
  phone: string
  tier: number
  kind: string
  starts_at: string | null
  ends_at: string | null
}

export interface NoiseFigures {
  alerts_in: number
  alert_records: number
  suppressed: number
  incidents: number
  reduction_pct: number
}

// GET /api/v1/triage/summary (dashboards.read): counts only; "incidents" needs incidents.read and
// "alerts" alerts.read, absent otherwise.
export interface TriageSummary {
  as_of: string
  incidents?: { open: number; by_severity: Record<string, number>; by_status: Record<string, number>; by_sla: Record<string, number> }
  alerts?: { open: number }
}

export interface NoiseReduction {
  from: string
  to: string
  total: NoiseFigures
  by_source: Record<string, NoiseFigures>
  by_day: ({ day: string; source: string } & Omit<NoiseFigures, 'reduction_pct'>)[]
}
