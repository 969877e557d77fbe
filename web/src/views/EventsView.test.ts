import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { i18n } from '../i18n'
import { setFetch } from '../api/client'
import { setPrincipal } from '../session'
import type { EventDoc } from '../api/types'
import EventsView from './EventsView.vue'

const EVENTS: EventDoc[] = [
  { id: 'e1', time: '2026-03-01T08:00:00Z', source: 'syslog', raw: 'Failed password for root', fields: { 'host.name': 'his-db01', 'user.name': 'root' } },
  { id: 'e2', time: '2026-03-01T07:59:00Z', source: 'syslog', raw: 'Failed password for zhang san', fields: { 'host.name': 'his-db01', 'user.name': 'zhang san' } },
]

function server() {
  const urls: string[] = []
  const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } })
  setFetch(vi.fn(async (url: string) => {
    urls.push(url)
    const q = new URL('http://x' + url).searchParams.get('q') ?? ''
    if (q.includes('(y OR'))
      return json({ error: { code: 'invalid_argument', message: 'query:1:20: OR needs a term after it', column: 20 } }, 400)
    const items = EVENTS.filter((e) => !q.includes('user.name:') || q.includes(`"${e.fields!['user.name']}"`) || q.endsWith(`user.name:${e.fields!['user.name']}`))
    if (url.startsWith('/api/v1/events/histogram')) return json([{ time: '2026-03-01T07:00:00Z', count: items.length }, { time: '2026-03-01T08:00:00Z', count: 0 }])
    if (url.startsWith('/api/v1/events/fields')) return json({ sampled: items.length, items: [{ name: 'user.name', count: items.length, original: false }] })
    if (url.startsWith('/api/v1/events?')) return json({ items, next_cursor: null })
    return json({ error: { code: 'not_found', message: 'no' } }, 404)
  }) as unknown as typeof fetch)
  return urls
}

async function mountView(path = '/events?range=1h') {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/events', component: EventsView }] })
  await router.push(path)
  const w = mount(EventsView, { global: { plugins: [i18n, ElementPlus, router], stubs: { EventHistogram: true } } })
  await flushPromises()
  return { w, router }
}

describe('EventsView', { timeout: 60_000 }, () => {
  it('searches the window from the URL and fills histogram total, fields and results', async () => {
    setPrincipal({ user_id: 'u', username: 'li', role: 'analyst', role_name: '', provider_wide: false, home_tenant: 'd', tenant: 'd',
      must_change_password: false, permissions: ['events.read'], kind: 'session' })
    const urls = server()
    const { w } = await mountView()
    expect(urls.some((u) => u.startsWith('/api/v1/events?') && u.includes('from=now-1h'))).toBe(true)
    expect(urls.some((u) => u.startsWith('/api/v1/events/histogram'))).toBe(true)
    expect(w.find('[data-testid=events-total]').text()).toContain('2')
    expect(w.find('[data-testid=events-count]').text()).toContain('2')
    expect(w.find('[data-testid=events-export-csv]').attributes('href')).toBe('/api/v1/events/export?from=now-1h&to=now&format=csv')
    w.unmount()
  })

  it('adds a quoted filter from the field sidebar and puts it in the URL', async () => {
    const urls = server()
    const { w, router } = await mountView()
    await w.find('[data-testid="field-user.name"]').trigger('click')
    const value = w.findAll('[data-testid=field-value]').find((v) => v.text() === 'zhang san')!
    await value.trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.query.q).toBe('user.name:"zhang san"')
    expect(urls.at(-1)).toContain('q=' + encodeURIComponent('user.name:"zhang san"').replace(/%20/g, '+'))
    expect(w.find('[data-testid=events-count]').text()).toContain('1')
    w.unmount()
  })

  it('shows a query error with a caret under its column', async () => {
    server()
    const { w } = await mountView('/events?q=' + encodeURIComponent('host.name:x AND (y OR'))
    const err = w.find('[data-testid=events-query-error]')
    expect(err.text()).toContain('query:1:20')
    expect(err.find('pre').text().split('\n')[1]).toBe(' '.repeat(19) + '^')
    w.unmount()
  })
})
