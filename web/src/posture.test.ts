import { beforeEach, describe, expect, it, vi } from 'vitest'
import { setFetch } from './api/client'
import { setCapabilities } from './api/capabilities'
import type { TriageSummary } from './api/types'
import { MODULES, forgetSummary, loadTriagePosture, moduleState, postureFromSummary } from './posture'

const SUMMARY: TriageSummary = {
  as_of: '2026-03-02T08:00:00Z',
  incidents: {
    open: 7,
    by_severity: { critical: 2, high: 3, medium: 1, low: 1 },
    by_status: { new: 4, acknowledged: 2, investigating: 1, contained: 0 },
    by_sla: { breached: 2, at_risk: 1, paused: 1, on_track: 3, met: 0, none: 0 },
  },
  alerts: { open: 4321 },
}

function server(summary: TriageSummary = SUMMARY) {
  const urls: string[] = []
  const json = (b: unknown) => new Response(JSON.stringify(b), { status: 200, headers: { 'content-type': 'application/json' } })
  setFetch(vi.fn(async (url: string) => {
    urls.push(url)
    if (url === '/api/v1/triage/summary') return json(summary)
    if (url.startsWith('/api/v1/triage/incidents?')) return json({ items: [] })
    if (url === '/api/v1/triage/sla-policies') return json({ items: [] })
    if (url.startsWith('/api/v1/triage/noise-reduction')) return json({ total: {}, by_day: [], by_source: {} })
    return json({ items: [] })
  }) as unknown as typeof fetch)
  return urls
}

const ALL = (_p: string) => true
const OPS = {
  'GET /api/v1/triage/summary': 's', 'GET /api/v1/triage/incidents': 'i', 'GET /api/v1/triage/alerts': 'a',
  'GET /api/v1/triage/sla-policies': 'p', 'GET /api/v1/triage/noise-reduction': 'n',
}

describe('dashboard figures from /triage/summary', () => {
  beforeEach(() => forgetSummary())

  it('maps the summary to the posture cards, all states present', () => {
    const p = postureFromSummary({ open: 3, by_severity: { critical: 3 }, by_status: {}, by_sla: { breached: 1, on_track: 2 } })
    expect(p).toEqual({
      open: 3, atLeast: false, bySeverity: { critical: 3, high: 0, medium: 0, low: 0 },
      bySla: { breached: 1, at_risk: 0, paused: 0, on_track: 2, met: 0, none: 0 },
    })
  })

  it('counts open incidents and alerts without listing them', async () => {
    setCapabilities(OPS)
    const urls = server()
    const inc = await moduleState(MODULES.find((m) => m.key === 'incidents')!, ALL)
    const al = await moduleState(MODULES.find((m) => m.key === 'alerts')!, ALL)
    expect(inc).toMatchObject({ kind: 'count', count: 7, atLeast: false })
    expect(al).toMatchObject({ kind: 'count', count: 4321, atLeast: false })
    const posture = await loadTriagePosture(ALL, Date.now() + 10_000)
    expect(posture.posture?.open).toBe(7)
    expect(posture.posture?.bySla.breached).toBe(2)
    expect(posture.posture?.bySeverity.high).toBe(3)
    expect(posture.incidents).toBeNull() // the dashboard loads no list
    expect(urls.filter((u) => u.startsWith('/api/v1/triage/incidents') || u.startsWith('/api/v1/triage/alerts'))).toEqual([])
  })

  it('the wall also loads a short ticker list', async () => {
    setCapabilities(OPS)
    const urls = server()
    const posture = await loadTriagePosture(ALL, Date.now() + 20_000, 50)
    expect(posture.incidents).toEqual([])
    expect(urls).toContain('/api/v1/triage/incidents?status=open&limit=50')
  })

  it('falls back to the lists when the summary leaves a part out or the server lacks it', async () => {
    setCapabilities(OPS)
    server({ as_of: '2026-03-02T08:00:00Z' }) // e.g. a viewer: no incidents.read, no alerts.read
    const al = await moduleState(MODULES.find((m) => m.key === 'alerts')!, ALL)
    expect(al).toMatchObject({ kind: 'count', count: 0 })
    const { 'GET /api/v1/triage/summary': _s, ...without } = OPS
    setCapabilities(without)
    const urls = server()
    const posture = await loadTriagePosture(ALL, Date.now() + 30_000)
    expect(posture.posture?.open).toBe(0)
    expect(urls.some((u) => u.startsWith('/api/v1/triage/incidents?') && u.includes('limit=1000'))).toBe(true)
  })
})
