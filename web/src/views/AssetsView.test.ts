import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { i18n } from '../i18n'
import { setCsrfToken, setFetch } from '../api/client'
import { setPrincipal } from '../session'
import type { Asset } from '../api/types'
import AssetsView from './AssetsView.vue'

const at = (value: string | string[], source = 'import') => ({ value, source, at: '2026-03-01T00:00:00Z', by: 'li' })
const ASSET: Asset = {
  id: 'a1', status: 'active', first_seen: null, last_seen: null, created_at: null, updated_at: null,
  attributes: { name: at('HIS数据库服务器'), kind: at('server'), ips: at(['10.1.2.3']), zone: at('intranet') },
  services: [{ port: 443, proto: 'tcp', state: 'open', service: 'https', product: 'nginx', version: '1.22.1', cpe: 'cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*',
    banner: '', tls: { version: 'TLSv1.3', versions: ['TLSv1.3'], cipher: 'TLS_AES_128_GCM_SHA256', subject: 'CN=his.example', issuer: 'CN=his.example',
      sans: [], not_before: '', not_after: '2027-01-01', sha256: '', self_signed: true }, extra: {}, source: 'scan', first_seen: null, last_seen: null }],
  software: [],
}
type Call = { method: string; url: string; headers: Record<string, string>; body: unknown }

function server() {
  const calls: Call[] = []
  const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } })
  setFetch(vi.fn(async (url: string, init: RequestInit) => {
    const method = init.method ?? 'GET'
    calls.push({ method, url, headers: init.headers as Record<string, string>, body: init.body })
    if (url === '/api/v1/asset-attributes')
      return json({ items: [{ name: 'name', zh: '资产名称', en: 'Name', type: 'text', values: [] },
        { name: 'kind', zh: '资产类型', en: 'Kind', type: 'enum', values: [{ name: 'server', zh: '服务器' }] },
        { name: 'ips', zh: 'IP地址', en: 'IPs', type: 'list', values: [] },
        { name: 'zone', zh: '网络区域', en: 'Zone', type: 'enum', values: [{ name: 'intranet', zh: '内网' }] }] })
    if (url === '/api/v1/business-systems') return json({ items: [] })
    if (url.startsWith('/api/v1/asset-reviews')) return json({ items: [] })
    if (url.startsWith('/api/v1/assets?')) return json({ items: [ASSET] })
    if (url === '/api/v1/assets/a1') return json(ASSET)
    if (url.startsWith('/api/v1/assets/a1/history'))
      return json({ items: [{ id: 1, at: '2026-03-01T00:00:00Z', attribute: 'zone', old: '', new: 'intranet', source: 'import', actor: 'li', note: '' }] })
    if (method === 'POST' && url === '/api/v1/assets-import?format=csv')
      return json({ created: 1, updated: 0, unchanged: 0, problems: [{ line: 3, column: 2, message: "kind: '不存在' is not one of server" }] })
    return json({ error: { code: 'not_found', message: 'no' } }, 404)
  }) as unknown as typeof fetch)
  return calls
}

async function mountView() {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/assets', component: AssetsView }] })
  await router.push('/assets')
  const w = mount(AssetsView, { global: { plugins: [i18n, ElementPlus, router] }, attachTo: document.body })
  await flushPromises()
  return w
}
function principal(permissions: string[]) {
  setPrincipal({ user_id: 'u', username: 'li', role: 'secadmin', role_name: '', provider_wide: false, home_tenant: 'd', tenant: 'd',
    must_change_password: false, permissions, kind: 'session' })
}

describe('AssetsView', { timeout: 60_000 }, () => {
  it('lists assets with Chinese enum names and opens the detail with services, TLS and history', async () => {
    principal(['assets.read'])
    server()
    const w = await mountView()
    const table = w.find('[data-testid=assets-table]').text()
    expect(table).toContain('HIS数据库服务器')
    expect(table).toContain('服务器')
    expect(table).toContain('内网')
    expect(w.find('[data-testid=assets-import]').exists()).toBe(false)
    await w.find('[data-testid=assets-table] .el-table__row').trigger('click')
    await flushPromises()
    const services = document.querySelector('[data-testid=asset-services]')?.textContent ?? ''
    expect(services).toContain('443/tcp')
    expect(services).toContain('cpe:2.3:a:f5:nginx')
    expect(services).toContain('TLSv1.3')
    expect(services).toContain('自签名')
    expect(document.querySelector('[data-testid=asset-attributes]')?.textContent).toContain('导入')
    expect(document.querySelector('[data-testid=asset-history]')?.textContent).toContain('intranet')
    w.unmount()
  })

  it('uploads a CSV as is, with the CSRF token, and shows the problems with line:column', async () => {
    principal(['assets.read', 'assets.write'])
    setCsrfToken('csrf-2')
    const calls = server()
    const w = await mountView()
    await w.find('[data-testid=assets-import]').trigger('click')
    await flushPromises()
    const csv = '资产名称,资产类型\nA,服务器\nB,不存在\n'
    const input = document.querySelector('input[data-testid=assets-import-file]') as HTMLInputElement
    const file = new File([csv], '台账.csv', { type: 'text/csv' })
    Object.defineProperty(input, 'files', { value: [file] })
    input.dispatchEvent(new Event('change'))
    ;(document.querySelector('[data-testid=assets-import-submit]') as HTMLButtonElement).click()
    await flushPromises()
    await new Promise((r) => setTimeout(r, 50))
    await flushPromises()
    const post = calls.find((c) => c.method === 'POST')
    if (!post) throw new Error('no POST; dialog: ' + document.querySelector('[data-testid=assets-import-error]')?.textContent)
    expect(post.url).toBe('/api/v1/assets-import?format=csv')
    expect(post.headers['Content-Type']).toBe('text/csv; charset=utf-8')
    expect(post.headers['X-CSRF-Token']).toBe('csrf-2')
    const sent = await new Promise<string>((r) => {
      const fr = new FileReader()
      fr.onload = () => r(String(fr.result))
      fr.readAsText(post.body as Blob)
    })
    expect(sent).toBe(csv)
    expect(document.querySelector('[data-testid=import-created]')?.textContent).toBe('1')
    expect(document.querySelector('[data-testid=import-problems]')?.textContent).toContain('3:2')
    w.unmount()
  })
})
