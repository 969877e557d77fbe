import { describe, expect, it } from 'vitest'
import type { Alert, Incident, SlaPolicy } from './api/types'
import { menuFor, pageByName } from './pages'
import {
  alertPages, allowedTransitions, clocksFor, defaultSuppressionFields, formatDuration, groupAlerts, incidentPosture, isReopen,
  liveClock, nextDue, slaState, suppressionFields, tickerOrder, toBase64Url,
} from './triage'

const T0 = Date.parse('2026-03-02T08:00:00Z')
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString()
// The server's defaults (triage/sla.cpp).
const POLICIES: SlaPolicy[] = [
  { severity: 'low', ack_minutes: 1440, respond_minutes: 2880, onsite_minutes: 0, resolve_minutes: 43200, pause_statuses: [] },
  { severity: 'medium', ack_minutes: 240, respond_minutes: 480, onsite_minutes: 0, resolve_minutes: 10080, pause_statuses: [] },
  { severity: 'high', ack_minutes: 30, respond_minutes: 120, onsite_minutes: 480, resolve_minutes: 2880, pause_statuses: [] },
  { severity: 'critical', ack_minutes: 15, respond_minutes: 30, onsite_minutes: 240, resolve_minutes: 1440, pause_statuses: [] },
]

function incident(p: Partial<Incident>): Incident {
  return {
    id: 'i1', number: 'INC-000001', title: 't', severity: 'critical', status: 'new', score: 90, risk: 0, raised_by: 'alert',
    source: 'sigma', owner: '', watchers: [], entity_count: 0, entities: [], entities_truncated: false, tactics: [], techniques: [], alert_count: 0, alert_ids: [], alert_ids_truncated: false, event_count: 1,
    merged_into: '', verdict: null, review: '', impact: '', root_cause: '', created_at: iso(0), updated_at: iso(0),
    first_seen: iso(0), last_seen: iso(0), acknowledged_at: null, investigating_at: null, onsite_at: null, contained_at: null,
    resolved_at: null, closed_at: null, sla_paused: false, escalation_tier: 1, breaches: [], ...p,
  }
}

function alert(p: Partial<Alert>): Alert {
  return {
    id: 'a', source: 'sigma', rule_id: 'r1', rule_title: 'Rule 1', level: 'medium', attack_tactic: '', attack_technique: '',
    host: '', user: '', src_ip: '', dst_ip: '', asset_id: '', entities: [], score: 40, count: 1, first_seen: iso(0),
    last_seen: iso(0), status: 'open', suppression: 'none', suppressed_by: '', incident_id: '', last_event_id: '',
    matched_fields: {}, intel_hits: [], blocked: false, verdict: null, ...p,
  }
}

describe('incident lifecycle', () => {
  it('follows the server: forward from open statuses, resolved → closed or reopen, closed → reopen only', () => {
    expect(allowedTransitions('new')).toEqual(['acknowledged', 'investigating', 'contained', 'resolved', 'closed'])
    expect(allowedTransitions('contained')).toEqual(['resolved', 'closed'])
    expect(allowedTransitions('resolved')).toEqual(['closed', 'acknowledged'])
    expect(allowedTransitions('closed')).toEqual(['acknowledged'])
    expect(isReopen('closed', 'acknowledged')).toBe(true)
    expect(isReopen('new', 'acknowledged')).toBe(false)
  })
})

describe('SLA clocks and states', () => {
  const pm = Object.fromEntries(POLICIES.map((p) => [p.severity, p]))
  it('computes running and met clocks like the server', () => {
    const inc = incident({ acknowledged_at: iso(10) })
    const clocks = clocksFor(inc, pm.critical, T0 + 20 * 60_000)
    expect(clocks.map((c) => c.clock)).toEqual(['acknowledge', 'respond', 'onsite', 'resolve'])
    expect(clocks[0]).toMatchObject({ elapsed_seconds: 600, breached: false, met_at: iso(10) })
    expect(clocks[1]).toMatchObject({ elapsed_seconds: 1200, breached: false, due_at: iso(30) })
    // Medium has no on-site target.
    expect(clocksFor(incident({ severity: 'medium' }), pm.medium, T0).map((c) => c.clock)).toEqual(['acknowledge', 'respond', 'resolve'])
  })
  it('classifies on track, at risk, breached, paused and met', () => {
    const now = (m: number) => T0 + m * 60_000
    const st = (p: Partial<Incident>, m: number) => {
      const inc = incident(p)
      return slaState(inc, clocksFor(inc, pm[inc.severity], now(m)), now(m))
    }
    expect(st({}, 5)).toBe('on_track')
    expect(st({}, 12)).toBe('at_risk') // 3 of 15 minutes left
    expect(st({}, 16)).toBe('breached')
    expect(st({ acknowledged_at: iso(16) }, 17)).toBe('breached') // met late
    expect(st({ sla_paused: true }, 5)).toBe('paused')
    expect(st({ breaches: ['acknowledge'], acknowledged_at: iso(1) }, 2)).toBe('breached') // the server's record
    expect(st({ status: 'resolved', acknowledged_at: iso(1), investigating_at: iso(2), onsite_at: iso(3), resolved_at: iso(4) }, 60)).toBe('met')
  })
  it('counts a server clock on in the browser until it is met or paused', () => {
    const c = { clock: 'acknowledge', target_minutes: 15, met_at: null, due_at: iso(15), elapsed_seconds: 890, breached: false, paused: false }
    expect(liveClock(c, 20_000, 0)).toMatchObject({ elapsed_seconds: 910, breached: true })
    expect(liveClock({ ...c, paused: true }, 20_000, 0).elapsed_seconds).toBe(890)
    expect(liveClock({ ...c, met_at: iso(5) }, 20_000, 0).elapsed_seconds).toBe(890)
  })
  it('formats durations with a sign and days', () => {
    expect(formatDuration(65)).toBe('1:05')
    expect(formatDuration(3723)).toBe('1:02:03')
    expect(formatDuration(-125)).toBe('-2:05')
    expect(formatDuration(2 * 86400 + 3 * 3600 + 4 * 60 + 5)).toBe('2d 03:04:05')
  })
  it('picks the clock that runs out next for the wall', () => {
    const inc = incident({ acknowledged_at: iso(2) })
    expect(nextDue(inc, pm.critical, T0 + 10 * 60_000)).toEqual({ clock: 'respond', remaining: 20 * 60, paused: false })
  })
})

describe('dashboard figures', () => {
  it('counts open incidents by severity and SLA state, ignoring closed ones', () => {
    const now = T0 + 20 * 60_000
    const list = [
      incident({ id: '1', severity: 'critical' }), // 20 min unacknowledged: breached
      incident({ id: '2', severity: 'high', acknowledged_at: iso(1) }), // respond 120: on track
      incident({ id: '3', severity: 'medium', sla_paused: true }),
      incident({ id: '4', severity: 'low', status: 'closed' }),
    ]
    const p = incidentPosture(list, POLICIES, now, 1000)
    expect(p.open).toBe(3)
    expect(p.atLeast).toBe(false)
    expect(p.bySeverity).toEqual({ critical: 1, high: 1, medium: 1, low: 0 })
    expect(p.bySla).toMatchObject({ breached: 1, on_track: 1, paused: 1, at_risk: 0 })
    expect(incidentPosture(list, POLICIES, now, 4).atLeast).toBe(true)
    expect(tickerOrder(list, POLICIES, now).map((i) => i.id)).toEqual(['1', '3', '2'])
  })
})

describe('alert grouping and suppression scope', () => {
  const alerts = [
    alert({ id: 'a1', rule_id: 'scan', rule_title: '端口扫描', count: 3, host: 'pc7', entities: ['host:pc7', 'ip:10.0.0.7'], first_seen: iso(0), last_seen: iso(5) }),
    alert({ id: 'a2', rule_id: 'scan', rule_title: '端口扫描', count: 2, host: 'pc8', entities: ['host:pc8'], level: 'high', first_seen: iso(-10), last_seen: iso(1), status: 'closed' }),
    alert({ id: 'a3', rule_id: 'login', rule_title: '登录失败', count: 1, user: 'wang', entities: ['user:wang', 'host:pc7'], last_seen: iso(9) }),
  ]
  it('groups by rule with hit counts, first/last seen and highest level', () => {
    const g = groupAlerts(alerts, 'rule')
    expect(g.map((x) => x.key)).toEqual(['login', 'scan'])
    expect(g[1]).toMatchObject({ title: '端口扫描', hits: 5, firstSeen: iso(-10), lastSeen: iso(5), maxLevel: 'high', open: 1 })
  })
  it('groups by entity, an alert under each of its entities', () => {
    const g = groupAlerts(alerts, 'entity')
    const pc7 = g.find((x) => x.key === 'host:pc7')!
    expect(pc7.alerts.map((a) => a.id)).toEqual(['a1', 'a3'])
    expect(g.map((x) => x.key).sort()).toEqual(['host:pc7', 'host:pc8', 'ip:10.0.0.7', 'user:wang'])
  })
  it('offers the alert fields the server can scope a suppression by, host and user by default', () => {
    const a = alert({ host: 'pc7', src_ip: '10.0.0.7', matched_fields: { 'process.name': 'nmap.exe', host: 'ignored' } })
    expect(suppressionFields(a)).toEqual([
      { field: 'host', value: 'pc7' }, { field: 'src_ip', value: '10.0.0.7' }, { field: 'process.name', value: 'nmap.exe' },
    ])
    expect(defaultSuppressionFields(a)).toEqual(['host'])
  })
  it('encodes evidence as unpadded base64url', () => {
    expect(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_')
    expect(toBase64Url(new TextEncoder().encode('ab'))).toBe('YWI')
  })
})

describe('alert list pages', () => {
  const all = Array.from({ length: 7 }, (_, i) => alert({ id: 'a' + i }))
  const fetcher = (size: number, seen: (string | undefined)[]) => async (after?: string) => {
    seen.push(after)
    const from = after ? Number(after) : 0
    const items = all.slice(from, from + size)
    return from + size < all.length ? { items, next: String(from + size) } : { items }
  }

  it('follows the cursor until the server has no more', async () => {
    const seen: (string | undefined)[] = []
    const out = await alertPages(fetcher(3, seen), 1000)
    expect(out.items.map((a) => a.id)).toEqual(all.map((a) => a.id))
    expect(out.next).toBeUndefined()
    expect(seen).toEqual([undefined, '3', '6'])
  })

  it('stops at max and hands back the cursor to go on', async () => {
    const seen: (string | undefined)[] = []
    const out = await alertPages(fetcher(2, seen), 4)
    expect(out.items.map((a) => a.id)).toEqual(['a0', 'a1', 'a2', 'a3'])
    expect(out.next).toBe('4')
    expect(seen).toEqual([undefined, '2'])
  })
})

describe('incident and alert pages in the menu', () => {
  const names = (perms: string[]) => menuFor(new Set(perms), () => true).flatMap((s) => s.items.map((p) => p.name))
  it('shows analysts incidents and alerts, viewers neither; the detail page is never a menu entry', () => {
    const analyst = ['incidents.read', 'incidents.write', 'alerts.read', 'alerts.write', 'dashboards.read']
    expect(names(analyst)).toEqual(expect.arrayContaining(['incidents', 'alerts']))
    expect(names(analyst)).not.toContain('incident')
    expect(names(['dashboards.read', 'reports.read'])).not.toContain('incidents')
    expect(names(['dashboards.read', 'reports.read'])).not.toContain('alerts')
    expect(pageByName('incident')?.permission).toBe('incidents.read')
  })
  it('hides them while the server lacks the triage API', () => {
    expect(menuFor(new Set(['incidents.read', 'alerts.read']), (api) => !api.includes('/triage/')).flatMap((s) => s.items.map((p) => p.name)))
      .toEqual([])
  })
})
