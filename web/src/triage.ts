// Logic behind the incident and alert pages, the dashboard's incident figures and the wall's ticker
// (pure functions, unit-tested in triage.test.ts). Shapes: api/types.ts; server: src/triage.
import type { Alert, AlertPage, Incident, IncidentStatus, Severity, SlaClockState, SlaPolicy } from './api/types'
import { INCIDENT_STATUSES, SEVERITIES } from './api/types'

export const OPEN_STATUSES: IncidentStatus[] = ['new', 'acknowledged', 'investigating', 'contained']

export function isOpen(s: IncidentStatus): boolean {
  return OPEN_STATUSES.includes(s)
}

// The lifecycle moves the server allows (triage::IsAllowedTransition): an open incident may move to
// any later status; resolved may be closed or reopened; closed may only be reopened
// (→ acknowledged). Closing needs a review (复盘).
export function allowedTransitions(from: IncidentStatus): IncidentStatus[] {
  const i = INCIDENT_STATUSES.indexOf(from)
  if (isOpen(from)) return INCIDENT_STATUSES.slice(i + 1) as IncidentStatus[]
  if (from === 'resolved') return ['closed', 'acknowledged']
  return ['acknowledged']
}

export function isReopen(from: IncidentStatus, to: IncidentStatus): boolean {
  return !isOpen(from) && isOpen(to)
}

export function severityRank(s: string): number {
  const i = SEVERITIES.indexOf(s as Severity)
  return i < 0 ? SEVERITIES.length : i // critical first
}

// Element Plus tag types.
export function severityTag(s: string): 'danger' | 'warning' | 'primary' | 'info' {
  return s === 'critical' ? 'danger' : s === 'high' ? 'warning' : s === 'medium' ? 'primary' : 'info'
}

// ---- SLA ----
export type SlaState = 'breached' | 'at_risk' | 'paused' | 'on_track' | 'met' | 'none'
export const SLA_STATES: SlaState[] = ['breached', 'at_risk', 'paused', 'on_track', 'met']
// A running clock with less than this share of its target left is "at risk".
export const AT_RISK_SHARE = 0.25

const MINUTE_MS = 60_000

function ms(iso: string | null | undefined): number {
  if (!iso) return 0
  const t = Date.parse(iso)
  return Number.isNaN(t) ? 0 : t
}

// The incident's clocks from its SLA policy, as the server computes them (triage::ComputeSla) but
// without earlier pauses, which the list API does not carry (the detail API's clocks are exact).
// While paused the running clocks stand at now.
export function clocksFor(inc: Incident, policy: SlaPolicy | undefined, now: number): SlaClockState[] {
  if (!policy) return []
  const created = ms(inc.created_at)
  const defs: [string, number, string | null][] = [
    ['acknowledge', policy.ack_minutes, inc.acknowledged_at],
    ['respond', policy.respond_minutes, inc.investigating_at],
    ['onsite', policy.onsite_minutes, inc.onsite_at],
    ['resolve', policy.resolve_minutes, inc.resolved_at],
  ]
  const out: SlaClockState[] = []
  for (const [clock, minutes, met] of defs) {
    if (!minutes || minutes <= 0) continue
    const end = met ? ms(met) : now
    const elapsed = Math.max(0, Math.floor((end - created) / 1000))
    out.push({
      clock, target_minutes: minutes, met_at: met, due_at: new Date(created + minutes * MINUTE_MS).toISOString(),
      elapsed_seconds: elapsed, breached: elapsed > minutes * 60, paused: inc.sla_paused && !met,
    })
  }
  return out
}

// One state for an incident: breached if any clock (or the server's escalation record) breached;
// paused; at risk when a running clock has under 25 % of its target left; on track; met once
// resolved or closed without a breach.
export function slaState(inc: Incident, clocks: SlaClockState[], now?: number, loadedAt?: number): SlaState {
  const live = clocks.map((c) => liveClock(c, now ?? 0, loadedAt ?? now ?? 0))
  if (inc.breaches?.length || live.some((c) => c.breached)) return 'breached'
  if (!isOpen(inc.status)) return clocks.length || inc.resolved_at ? 'met' : 'none'
  if (!clocks.length) return 'none'
  if (inc.sla_paused) return 'paused'
  const running = live.filter((c) => !c.met_at)
  if (running.some((c) => c.target_minutes * 60 - c.elapsed_seconds < c.target_minutes * 60 * AT_RISK_SHARE)) return 'at_risk'
  return running.length ? 'on_track' : 'met'
}

// A clock from the server (computed at loadedAt) advanced to now: a running, unpaused clock keeps
// counting in the browser between refreshes.
export function liveClock(c: SlaClockState, now: number, loadedAt: number): SlaClockState {
  if (c.met_at || c.paused) return c
  const elapsed = c.elapsed_seconds + Math.max(0, Math.floor((now - loadedAt) / 1000))
  return { ...c, elapsed_seconds: elapsed, breached: c.breached || elapsed > c.target_minutes * 60 }
}

// Seconds left on a clock (negative: overdue by that much).
export function remainingSeconds(c: SlaClockState): number {
  return c.target_minutes * 60 - c.elapsed_seconds
}

// 1:02:03, 12:05, or with a day count: 2d 03:04:05. Negative values get a leading '-'.
export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : ''
  let s = Math.abs(Math.trunc(seconds))
  const d = Math.floor(s / 86400)
  s -= d * 86400
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const two = (n: number) => String(n).padStart(2, '0')
  const hms = h || d ? `${d ? two(h) : h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`
  return sign + (d ? `${d}d ${hms}` : hms)
}

export function policyMap(policies: SlaPolicy[]): Record<string, SlaPolicy> {
  return Object.fromEntries(policies.map((p) => [p.severity, p]))
}

// ---- dashboard / wall figures ----
export interface IncidentPosture {
  open: number
  atLeast: boolean // the list hit its limit: "≥ open"
  bySeverity: Record<Severity, number>
  bySla: Record<SlaState, number>
}

export function incidentPosture(incidents: Incident[], policies: SlaPolicy[], now: number, limit = Infinity): IncidentPosture {
  const pm = policyMap(policies)
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>
  const bySla = { breached: 0, at_risk: 0, paused: 0, on_track: 0, met: 0, none: 0 } as Record<SlaState, number>
  let open = 0
  for (const inc of incidents) {
    if (!isOpen(inc.status)) continue
    open++
    if (inc.severity in bySeverity) bySeverity[inc.severity]++
    bySla[slaState(inc, clocksFor(inc, pm[inc.severity], now), now)]++
  }
  return { open, atLeast: incidents.length >= limit, bySeverity, bySla }
}

// Ticker order: breached first, then by severity, then newest activity.
export function tickerOrder(incidents: Incident[], policies: SlaPolicy[], now: number): (Incident & { sla: SlaState })[] {
  const pm = policyMap(policies)
  const slaRank: Record<SlaState, number> = { breached: 0, at_risk: 1, paused: 2, on_track: 3, met: 4, none: 5 }
  return incidents
    .filter((i) => isOpen(i.status))
    .map((i) => ({ ...i, sla: slaState(i, clocksFor(i, pm[i.severity], now), now), left: nextDue(i, pm[i.severity], now)?.remaining ?? Infinity }))
    .sort((a, b) => slaRank[a.sla] - slaRank[b.sla] || severityRank(a.severity) - severityRank(b.severity) ||
      a.left - b.left || ms(b.last_seen ?? b.updated_at) - ms(a.last_seen ?? a.updated_at))
    .map(({ left: _left, ...i }) => i)
}

// ---- alerts ----
export type GroupBy = 'rule' | 'entity'

// Follows the alert list's cursor (GET /triage/alerts pages at most 500) until the server has no
// more or `max` records are in; next is set when it stopped at max.
export async function alertPages(fetchPage: (after?: string) => Promise<AlertPage>, max: number): Promise<AlertPage> {
  const items: Alert[] = []
  let after: string | undefined
  do {
    const page = await fetchPage(after)
    items.push(...page.items)
    after = page.next
  } while (after && items.length < max)
  return after ? { items, next: after } : { items }
}

export interface AlertGroup {
  key: string
  title: string
  alerts: Alert[]
  hits: number // raw alerts (sum of the dedup counts)
  firstSeen: string | null
  lastSeen: string | null
  maxLevel: string
  open: number
}

const LEVELS = ['critical', 'high', 'medium', 'low', 'informational']

// Groups deduplicated alerts by rule, or by entity (host:…, user:…, ip:…, asset:…). An alert
// touching several entities is listed under each of them. Groups with the most recent activity first.
export function groupAlerts(alerts: Alert[], by: GroupBy): AlertGroup[] {
  const groups = new Map<string, AlertGroup>()
  for (const a of alerts) {
    const keys = by === 'rule' ? [a.rule_id] : a.entities?.length ? a.entities : ['']
    for (const key of keys) {
      let g = groups.get(key)
      if (!g) {
        g = { key, title: by === 'rule' ? a.rule_title || a.rule_id : key, alerts: [], hits: 0, firstSeen: null, lastSeen: null, maxLevel: 'informational', open: 0 }
        groups.set(key, g)
      }
      g.alerts.push(a)
      g.hits += a.count
      if (a.first_seen && (!g.firstSeen || ms(a.first_seen) < ms(g.firstSeen))) g.firstSeen = a.first_seen
      if (a.last_seen && (!g.lastSeen || ms(a.last_seen) > ms(g.lastSeen))) g.lastSeen = a.last_seen
      if (LEVELS.indexOf(a.level) >= 0 && LEVELS.indexOf(a.level) < LEVELS.indexOf(g.maxLevel)) g.maxLevel = a.level
      if (a.status === 'open') g.open++
    }
  }
  return [...groups.values()].sort((x, y) => ms(y.lastSeen) - ms(x.lastSeen) || x.key.localeCompare(y.key))
}

export interface SuppressionField {
  field: string
  value: string
}

// The fields a suppression made from this alert can be scoped by (the server's
// TriageService::SuppressFromAlert reads the same ones), with the alert's values.
export function suppressionFields(a: Alert): SuppressionField[] {
  const out: SuppressionField[] = []
  for (const f of ['host', 'user', 'src_ip', 'dst_ip', 'asset_id'] as const) if (a[f]) out.push({ field: f, value: a[f] })
  for (const [k, v] of Object.entries(a.matched_fields ?? {})) if (v && !out.some((o) => o.field === k)) out.push({ field: k, value: v })
  return out
}

// Server default when no field is chosen: host and user, where the alert has them.
export function defaultSuppressionFields(a: Alert): string[] {
  return ['host', 'user'].filter((f) => a[f as 'host' | 'user'])
}

export function expiryAfterDays(days: number, now = Date.now()): string {
  return new Date(now + days * 86400_000).toISOString()
}

// "host:ws-01" → ["host", "ws-01"]
export function splitEntity(key: string): [string, string] {
  const i = key.indexOf(':')
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)]
}

// Evidence upload: bytes as base64url without padding (the server's Base64UrlDecode).
export function toBase64Url(bytes: Uint8Array): string {
  let bin = ''
  const CHUNK = 0x8000
  for (let i = 0; i < bytes.length; i += CHUNK) bin += String.fromCharCode(...bytes.subarray(i, i + CHUNK))
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

// The clock that runs out next on an open incident (for the wall's ticker): the first unmet clock,
// with its seconds left (negative: overdue), or null when none is running.
export function nextDue(inc: Incident, policy: SlaPolicy | undefined, now: number): { clock: string; remaining: number; paused: boolean } | null {
  const running = clocksFor(inc, policy, now).filter((c) => !c.met_at)
  if (!running.length) return null
  const c = running.reduce((a, b) => (remainingSeconds(b) < remainingSeconds(a) ? b : a))
  return { clock: c.clock, remaining: remainingSeconds(c), paused: c.paused }
}
