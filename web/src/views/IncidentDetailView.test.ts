import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { i18n } from '../i18n'
import { setCsrfToken, setFetch } from '../api/client'
import { setPrincipal } from '../session'
import type { IncidentDetail } from '../api/types'
import IncidentDetailView from './IncidentDetailView.vue'

const created = new Date(Date.now() - 5 * 60_000).toISOString()
function detail(): IncidentDetail {
  return {
    id: 'i1', number: 'INC-000007', title: '勒索软件加密行为', severity: 'critical', status: 'new', score: 92, risk: 0,
    raised_by: 'alert', source: 'sigma', owner: '', watchers: [], entity_count: 2, entities: ['host:his-db01', 'asset:a-17'], entities_truncated: false, tactics: ['impact'],
    techniques: ['T1486'], alert_count: 1, alert_ids: ['al1'], alert_ids_truncated: false, event_count: 4, merged_into: '', verdict: null, review: '', impact: '', root_cause: '',
    created_at: created, updated_at: created, first_seen: created, last_seen: created, acknowledged_at: null, investigating_at: null,
    onsite_at: null, contained_at: null, resolved_at: null, closed_at: null, sla_paused: false, escalation_tier: 1, breaches: [],
    timeline: [{ at: created, actor: 'triage', kind: 'created', detail: 'raised by alert al1' }],
    comments: [], links: [{ kind: 'event', ref: 'ev-1', note: '', added_by: 'u1', added_at: created }], evidence: [],
    sla: [
      { clock: 'acknowledge', target_minutes: 15, met_at: null, due_at: null, elapsed_seconds: 300, breached: false, paused: false },
      { clock: 'respond', target_minutes: 30, met_at: null, due_at: null, elapsed_seconds: 300, breached: false, paused: false },
    ],
  }
}

type Call = { method: string; url: string; headers: Record<string, string>; body: unknown }
function server(inc: IncidentDetail, alerts: { id: string }[] = []) {
  const calls: Call[] = []
  const f = vi.fn(async (url: string, init: RequestInit) => {
    const method = init.method ?? 'GET'
    calls.push({ method, url, headers: init.headers as Record<string, string>, body: init.body ? JSON.parse(String(init.body)) : undefined })
    const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } })
    if (method === 'PATCH' && url === '/api/v1/triage/incidents/i1') {
      const b = JSON.parse(String(init.body))
      if (b.status) inc.status = b.status
      if (b.owner) inc.owner = b.owner
      inc.timeline.push({ at: new Date().toISOString(), actor: 'u1', kind: b.status ? 'status' : 'owner', detail: JSON.stringify(b) })
      return json(inc)
    }
    if (url === '/api/v1/triage/incidents/i1') return json(inc)
    if (url.startsWith('/api/v1/triage/alerts')) {
      // Pages of two in list order, the cursor being the index of the next one.
      const q = new URL(url, 'http://x').searchParams
      const from = Number(q.get('after') ?? 0)
      const items = alerts.slice(from, from + 2)
      return json(from + 2 < alerts.length ? { items, next: String(from + 2) } : { items })
    }
    if (url.startsWith('/api/v1/triage/oncall/shifts')) return json({ items: [] })
    return json({ error: { code: 'not_found', message: 'no' } }, 404)
  })
  setFetch(f as unknown as typeof fetch)
  return calls
}

function principal(permissions: string[]) {
  setPrincipal({ user_id: 'u1', username: 'li.analyst', role: 'analyst', role_name: '', provider_wide: false, home_tenant: 'default',
    tenant: 'default', must_change_password: false, permissions, kind: 'session' })
}

async function mountAt(path: string) {
  const router = createRouter({ history: createMemoryHistory(), routes: [
    { path: '/incidents/:id', component: IncidentDetailView }, { path: '/:p(.*)*', component: { template: '<div />' } },
  ] })
  router.push(path)
  await router.isReady()
  const w = mount(IncidentDetailView, { global: { plugins: [i18n, ElementPlus, router] }, attachTo: document.body })
  await flushPromises()
  return w
}

afterEach(() => {
  document.body.innerHTML = ''
  vi.useRealTimers()
})

describe('IncidentDetailView', () => {
  it('shows a reader the incident, timeline and SLA clocks but no buttons that change it', async () => {
    principal(['incidents.read', 'alerts.read'])
    server(detail())
    const w = await mountAt('/incidents/i1')
    expect(w.text()).toContain('INC-000007')
    expect(w.find('[data-testid=incident-status]').text()).toBe('新建')
    expect(w.find('[data-testid=sla-clock-acknowledge]').text()).toContain('剩余 10:00')
    expect(w.find('[data-testid=timeline]').text()).toContain('创建')
    expect(w.find('[data-testid=incident-actions]').exists()).toBe(false)
    expect(w.find('[data-testid=assign-select]').exists()).toBe(false)
    expect(w.find('[data-testid=comment-input]').exists()).toBe(false)
    w.unmount()
  })

  it('shows the alert count and loads every linked alert by following the list cursor', async () => {
    principal(['incidents.read', 'alerts.read'])
    const inc = detail()
    inc.alert_ids = ['al1', 'al2', 'al3', 'al4', 'al5']
    inc.alert_count = 5
    const linked = inc.alert_ids.map((id) => ({
      id, source: 'sigma', rule_id: 'r-' + id, rule_title: 'Rule ' + id, level: 'high', attack_tactic: '', attack_technique: '',
      host: '', user: '', src_ip: '', dst_ip: '', asset_id: '', entities: ['host:his-db01'], score: 70, count: 1, first_seen: created,
      last_seen: created, status: 'in_incident', suppression: 'none', suppressed_by: '', incident_id: 'i1', last_event_id: '',
      matched_fields: {}, intel_hits: [], blocked: false, verdict: null,
    }))
    const calls = server(inc, linked)
    const w = await mountAt('/incidents/i1')
    const pages = calls.filter((c) => c.url.startsWith('/api/v1/triage/alerts'))
    expect(pages.map((c) => new URL(c.url, 'http://x').searchParams.get('after'))).toEqual([null, '2', '4'])
    expect(pages.every((c) => c.url.includes('incident_id=i1'))).toBe(true)
    expect(w.text()).toContain('(5)')
    const table = w.find('[data-testid=linked-alerts]')
    for (const a of linked) expect(table.text()).toContain(a.rule_title)
    w.unmount()
  })

  it('counts the SLA clock down live', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    principal(['incidents.read'])
    server(detail())
    const w = await mountAt('/incidents/i1')
    expect(w.find('[data-testid=sla-clock-acknowledge]').text()).toContain('剩余 10:00')
    vi.advanceTimersByTime(3000)
    await flushPromises()
    expect(w.find('[data-testid=sla-clock-acknowledge]').text()).toContain('剩余 9:57')
    w.unmount()
  })

  it('acknowledges through PATCH with the CSRF token and shows the new status and timeline entry', async () => {
    principal(['incidents.read', 'incidents.write'])
    setCsrfToken('csrf-123')
    const calls = server(detail())
    const w = await mountAt('/incidents/i1')
    const buttons = w.findAll('[data-testid^=inc-action-]').map((b) => b.attributes('data-testid'))
    expect(buttons).toEqual(['inc-action-acknowledged', 'inc-action-investigating', 'inc-action-contained', 'inc-action-resolved', 'inc-action-closed'])
    await w.find('[data-testid=inc-action-acknowledged]').trigger('click')
    await flushPromises()
    ;(document.querySelector('[data-testid=transition-submit]') as HTMLButtonElement).click()
    await flushPromises()
    const patch = calls.find((c) => c.method === 'PATCH')!
    expect(patch.body).toEqual({ status: 'acknowledged' })
    expect(patch.headers['X-CSRF-Token']).toBe('csrf-123')
    expect(w.find('[data-testid=incident-status]').text()).toBe('已确认')
    expect(w.find('[data-testid=timeline]').text()).toContain('状态变更')
    // From acknowledged the next step is investigating; going back is not offered.
    expect(w.find('[data-testid=inc-action-acknowledged]').exists()).toBe(false)
    w.unmount()
  })

  it('refuses to close without a review, without calling the server', async () => {
    principal(['incidents.read', 'incidents.write'])
    const calls = server(detail())
    const w = await mountAt('/incidents/i1')
    await w.find('[data-testid=inc-action-closed]').trigger('click')
    await flushPromises()
    ;(document.querySelector('[data-testid=transition-submit]') as HTMLButtonElement).click()
    await flushPromises()
    expect(calls.some((c) => c.method === 'PATCH')).toBe(false)
    expect(document.querySelector('[data-testid=transition-error]')?.textContent).toContain('复盘')
    w.unmount()
  })
})
