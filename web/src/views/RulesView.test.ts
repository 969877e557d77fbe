import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { i18n } from '../i18n'
import { setCsrfToken, setFetch } from '../api/client'
import { setPrincipal } from '../session'
import type { Rule } from '../api/types'
import RulesView from './RulesView.vue'

function rule(id: string, over: Partial<Rule> = {}): Rule {
  return {
    id, name: '', title: '多次登录失败 ' + id, description: '', level: 'high', status: 'test', tags: ['attack.t1110'], falsepositives: [],
    logsource: { product: 'windows', category: '', service: 'security' }, kind: 'detection', origin: 'builtin', enabled: true,
    file: id + '.yml', line: 1, stats: { hits: 7, evaluations: 100, avg_cost_ns: 850 }, ...over,
  }
}

function principal(permissions: string[]) {
  setPrincipal({ user_id: 'u', username: 'li', role: 'secadmin', role_name: '', provider_wide: false, home_tenant: 'd', tenant: 'd',
    must_change_password: false, permissions, kind: 'session' })
}

type Call = { method: string; url: string; headers: Record<string, string>; body: unknown }
function server(rules: Rule[]) {
  const calls: Call[] = []
  const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } })
  const f = vi.fn(async (url: string, init: RequestInit) => {
    const method = init.method ?? 'GET'
    const body = init.body ? JSON.parse(String(init.body)) : undefined
    calls.push({ method, url, headers: init.headers as Record<string, string>, body })
    if (method === 'GET' && url.startsWith('/api/v1/rules/stats'))
      return json({ top: rules, summary: { loaded: rules.length, unsupported: 1, errors: 0, warnings: 2 } })
    if (method === 'GET' && url.startsWith('/api/v1/rules?')) {
      const enabled = new URL('http://x' + url).searchParams.get('origin')
      const items = enabled ? rules.filter((r) => r.origin === enabled) : rules
      return json({ items, total: items.length, offset: 0, limit: 50 })
    }
    const toggle = url.match(/^\/api\/v1\/rules\/([^/]+)\/(enable|disable)$/)
    if (method === 'POST' && toggle) {
      const r = rules.find((x) => x.id === toggle[1])!
      r.enabled = toggle[2] === 'enable'
      return json(r)
    }
    if (method === 'POST' && url === '/api/v1/rules') {
      if (String(body.yaml).includes('nope'))
        return json({ error: { code: 'invalid_argument', message: 'the rule has 1 problem(s)', problems: [
          { line: 3, column: 14, severity: 'error', rule_id: 'r9', reason: "condition: unknown search identifier 'nope'", text: 'upload.yml:3:14: ...' }] } }, 400)
      const r = rule('r9', { origin: 'custom', title: '上传的规则' })
      rules.push(r)
      return json({ items: [r] }, 201)
    }
    return json({ error: { code: 'not_found', message: 'no' } }, 404)
  })
  setFetch(f as unknown as typeof fetch)
  return calls
}

const mountView = () => mount(RulesView, { global: { plugins: [i18n, ElementPlus] }, attachTo: document.body })

// Mounting Element Plus tables in jsdom is slow on a loaded machine: a generous per-test limit (not a
// performance check).
describe('RulesView', { timeout: 60_000 }, () => {
  it('lists rules with hit counts and the load summary', async () => {
    principal(['content.read'])
    server([rule('r1'), rule('r2', { stats: { hits: 1234, evaluations: 5000, avg_cost_ns: 2500 } })])
    const w = mountView()
    await flushPromises()
    expect(w.find('[data-testid=rules-total]').text()).toContain('2')
    const hits = w.findAll('[data-testid=rule-hits]').map((e) => e.text())
    expect(hits).toEqual(['7', (1234).toLocaleString()])
    expect(w.find('[data-testid=rules-summary]').text()).toContain('不支持')
    w.unmount()
  })

  it('hides the upload button and the switches without content.write', async () => {
    principal(['content.read'])
    server([rule('r1')])
    const w = mountView()
    await flushPromises()
    expect(w.find('[data-testid=rules-upload]').exists()).toBe(false)
    expect(w.find('[data-testid=rule-toggle-r1]').exists()).toBe(false)
    w.unmount()
  })

  it('disables a rule with the CSRF token', async () => {
    principal(['content.read', 'content.write'])
    setCsrfToken('csrf-1')
    const rules = [rule('r1')]
    const calls = server(rules)
    const w = mountView()
    await flushPromises()
    await w.find('[data-testid=rule-toggle-r1]').trigger('click')
    await flushPromises()
    const post = calls.find((c) => c.method === 'POST')!
    expect(post.url).toBe('/api/v1/rules/r1/disable')
    expect(post.headers['X-CSRF-Token']).toBe('csrf-1')
    expect(rules[0].enabled).toBe(false)
    w.unmount()
  })

  it('shows a refused upload at line:column and lists an accepted one', async () => {
    principal(['content.read', 'content.write'])
    server([rule('r1')])
    const w = mountView()
    await flushPromises()
    await w.find('[data-testid=rules-upload]').trigger('click')
    await flushPromises()
    const textarea = () => document.querySelector('textarea[data-testid=rules-upload-yaml]') as HTMLTextAreaElement
    textarea().value = 'title: x\ndetection:\n  condition: selection and nope\n'
    textarea().dispatchEvent(new Event('input'))
    ;(document.querySelector('[data-testid=rules-upload-submit]') as HTMLButtonElement).click()
    await flushPromises()
    expect(document.querySelector('[data-testid=rule-problem-pos]')?.textContent?.trim()).toBe('3:14')
    expect(document.querySelector('[data-testid=rules-upload-error]')?.textContent).toContain("unknown search identifier 'nope'")
    textarea().value = 'title: 上传的规则\n'
    textarea().dispatchEvent(new Event('input'))
    ;(document.querySelector('[data-testid=rules-upload-submit]') as HTMLButtonElement).click()
    await flushPromises()
    expect(w.find('[data-testid=rules-table]').text()).toContain('上传的规则')
    w.unmount()
  })
})
