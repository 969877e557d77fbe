// End-to-end test of the event search, assets ledger and detection rules pages against a real
// `medsoc serve`: events are ingested through the API with an API token, then searched in the
// browser (histogram, field sidebar filter, query error column, export); a broken rule shows its
// line:column and a good one is listed and can be disabled; an assets CSV with Chinese headers is
// imported and its rows, problems and detail appear; an analyst sees no write buttons and a viewer
// reaches none of the pages. Harness and environment: lib/harness.mjs.
import {
  PORTAL, step, assert, startServer, newPage, shot, fill, login, apiStatus, log, run,
} from './lib/harness.mjs'
import { seedUsers } from './lib/api.mjs'

const SEC = { username: 'e2e.sec', role: 'secadmin', initial: 'Init-Sec-Passw0rd!', password: 'Sec-E2e-Passw0rd!1' }
const ANALYST = { username: 'e2e.analyst', role: 'analyst', initial: 'Init-Analyst-Passw0rd!', password: 'Analyst-E2e-Passw0rd!1' }
const VIEWER = { username: 'e2e.viewer', role: 'viewer', initial: 'Init-Viewer-Passw0rd!', password: 'Viewer-E2e-Passw0rd!1' }

const BROKEN_RULE = `title: 坏规则
id: 22222222-2222-4222-8222-222222222222
logsource:
  product: windows
detection:
  selection:
    EventID: 4625
  condition: selection and nope
`
const GOOD_RULE = `title: E2E 多次登录失败
id: 11111111-1111-4111-8111-111111111111
status: experimental
level: high
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
`
const ASSETS_CSV = [
  '资产名称,资产类型,IP地址,网络区域,业务系统,责任部门,机密性',
  'HIS数据库服务器,服务器,10.1.2.3,内网,HIS,信息科,4',
  'PACS影像归档,PACS/DICOM节点,10.1.5.6,医疗网,PACS,放射科,3',
  '坏行,不存在的类型,10.1.7.7,内网,,,2',
  '',
].join('\r\n')

async function signIn(page, base, user) {
  await login(page, base, user.username, user.password)
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 20_000 })
}

async function main() {
  const server = await startServer()
  const { base } = server
  log(`e2e: medsoc on ${base}, portal ${PORTAL}`)
  const allProblems = []

  // ---- seed through the API ----
  const s = await seedUsers(base, server.password, 'Admin-E2e-Passw0rd!', [SEC, ANALYST, VIEWER])
  const sec = s[SEC.username]
  const now = Date.now()
  const seeded = []
  await step('seed: an API token ingests events', async () => {
    const tok = await sec.ok('POST', '/api/v1/tokens', { name: 'e2e-seed', scopes: ['ingest.write'], expires_in_days: 1 })
    const lines = []
    for (let i = 0; i < 12; i++) {
      const t = new Date(now - i * 60_000).toISOString()
      const user = i % 3 === 0 ? 'root' : 'zhangsan'
      lines.push(JSON.stringify({
        '@timestamp': t, message: `Failed password for ${user} from 10.1.2.${i} port 22 ssh2`,
        'host.name': i % 2 ? 'his-db01' : 'emr-app02', 'source.ip': `10.1.2.${i}`, 'user.name': user, 'event.outcome': 'failure',
      }))
      seeded.push({ user, host: i % 2 ? 'his-db01' : 'emr-app02' })
    }
    const r = await fetch(base + '/api/v1/ingest?source=e2e', {
      method: 'POST', headers: { authorization: 'Bearer ' + tok.secret, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n') + '\n',
    })
    const body = await r.json()
    assert(r.status === 200 && body.accepted === 12, `ingest: ${r.status} ${JSON.stringify(body)}`)
    // Durable on 200; visible to search once committed.
    for (let i = 0; i < 50; i++) {
      const page = await sec.ok('GET', '/api/v1/events?from=now-1h&limit=100')
      if (page.items.length === 12) return
      await new Promise((res) => setTimeout(res, 200))
    }
    throw new Error('ingested events not searchable')
  })

  // ---- event search ----
  const w = await newPage('secadmin')
  allProblems.push(w.problems)
  await signIn(w.page, base, SEC)

  await step('event search: menu, histogram and results', async () => {
    await w.page.locator('[data-testid=menu-events]').waitFor()
    // The seeded events' internal addresses also come back as asset-change events
    // (event.dataset assets.change, written by the server a few seconds later): select the seeded ones.
    const q = 'event.outcome:failure'
    await w.page.goto(base + '/events?range=1h&q=' + encodeURIComponent(q))
    await w.page.locator('[data-testid=events-table]').getByText('his-db01').first().waitFor({ timeout: 15_000 })
    await w.page.locator('[data-testid=events-histogram] canvas').first().waitFor()
    const total = await w.page.locator('[data-testid=events-total]').innerText()
    const hist = await sec.ok('GET', '/api/v1/events/histogram?from=now-1h&to=now&q=' + encodeURIComponent(q))
    const sum = hist.reduce((n, b) => n + b.count, 0)
    assert(sum === 12 && total.includes('12'), `histogram total "${total}", API sum ${sum}`)
    const rows = await w.page.locator('[data-testid=events-table] .el-table__body-wrapper tr.el-table__row').count()
    assert(rows === 12, `result rows ${rows}`)
    await shot(w.page, 'pages-01-events')
  })

  await step('event search: query, field sidebar filter and expanded fields', async () => {
    await fill(w.page, 'events-query', 'host.name:his-db01')
    await w.page.locator('[data-testid=events-search]').click()
    await w.page.waitForFunction(() => document.querySelector('[data-testid=events-count]')?.textContent?.includes(' 6 '))
    // The sidebar: open user.name, click "root" → the filter is added.
    await w.page.locator('[data-testid="field-user.name"]').first().click()
    await w.page.locator('[data-testid=field-value]').getByText('root', { exact: true }).click()
    await w.page.waitForFunction(() => (document.querySelector('[data-testid=events-query]')?.value ?? '').includes('user.name:root'))
    const expect = seeded.filter((e) => e.host === 'his-db01' && e.user === 'root').length
    await w.page.waitForFunction((n) => document.querySelector('[data-testid=events-count]')?.textContent?.includes(` ${n} `), expect)
    assert(new URL(w.page.url()).searchParams.get('q') === 'host.name:his-db01 AND user.name:root', `url ${w.page.url()}`)
    await w.page.locator('[data-testid=events-table] .el-table__expand-icon').first().click()
    await w.page.locator('[data-testid=event-fields]').getByText('his-db01').first().waitFor()
    await shot(w.page, 'pages-02-events-filtered')
  })

  await step('event search: a query error shows its column', async () => {
    await fill(w.page, 'events-query', 'host.name:x AND (y OR')
    await w.page.locator('[data-testid=events-search]').click()
    const err = w.page.locator('[data-testid=events-query-error]')
    await err.waitFor()
    const text = await err.innerText()
    assert(text.includes('query:1:20'), `error: ${text}`)
    const caret = await err.locator('pre').innerText()
    assert(caret.split('\n')[1] === ' '.repeat(19) + '^', `caret line: ${JSON.stringify(caret)}`)
    await shot(w.page, 'pages-03-events-query-error')
  })

  await step('event search: syntax help and export', async () => {
    await w.page.locator('[data-testid=events-help]').click()
    await w.page.locator('[data-testid=events-help-drawer]').getByText('source.ip:10.0.0.0/8').waitFor()
    await w.page.keyboard.press('Escape')
    await fill(w.page, 'events-query', 'user.name:root')
    await w.page.locator('[data-testid=events-search]').click()
    await w.page.waitForFunction(() => document.querySelector('[data-testid=events-count]')?.textContent?.includes(' 4 '))
    for (const [id, check] of [['events-export-csv', (t) => t.startsWith('id,time,source,host.name') && t.trim().split('\r\n').length === 5],
      ['events-export-ndjson', (t) => t.trim().split('\n').length === 4 && JSON.parse(t.split('\n')[0]).fields['user.name'] === 'root']]) {
      const href = await w.page.locator(`[data-testid=${id}]`).getAttribute('href')
      const r = await w.page.evaluate(async (h) => { const x = await fetch(h); return { status: x.status, text: await x.text() } }, href)
      assert(r.status === 200 && check(r.text), `${id} ${href}: ${r.status} ${r.text.slice(0, 200)}`)
    }
  })

  // ---- detection rules ----
  await step('rules: a broken rule shows its error at line:column', async () => {
    await w.page.goto(base + '/rules')
    await w.page.locator('[data-testid=rules-table] .el-table__row').first().waitFor({ timeout: 15_000 })
    await w.page.locator('[data-testid=rules-upload]').click()
    await fill(w.page, 'rules-upload-yaml', BROKEN_RULE)
    await w.page.locator('[data-testid=rules-upload-submit]').click()
    const pos = w.page.locator('[data-testid=rule-problem-pos]').first()
    await pos.waitFor()
    assert((await pos.innerText()).trim() === '8:14', `position ${await pos.innerText()}`)
    const text = await w.page.locator('[data-testid=rules-upload-error]').innerText()
    assert(text.includes("unknown search identifier 'nope'"), `problem text: ${text}`)
    await shot(w.page, 'pages-04-rule-error')
  })

  await step('rules: a good rule is listed and can be disabled', async () => {
    await fill(w.page, 'rules-upload-yaml', GOOD_RULE)
    await w.page.locator('[data-testid=rules-upload-submit]').click()
    const table = w.page.locator('[data-testid=rules-table]')
    await table.getByText('E2E 多次登录失败').waitFor({ timeout: 15_000 })
    const id = '11111111-1111-4111-8111-111111111111'
    const sw = w.page.locator(`[data-testid=rule-toggle-${id}]`)
    assert((await sw.getAttribute('class')).includes('is-checked'), 'uploaded rule not enabled')
    await sw.click()
    await w.page.waitForFunction((i) => !document.querySelector(`[data-testid=rule-toggle-${i}]`)?.className.includes('is-checked'), id)
    const r = await sec.ok('GET', `/api/v1/rules/${id}`)
    assert(r.enabled === false && r.origin === 'custom', `rule after toggle: ${JSON.stringify({ enabled: r.enabled, origin: r.origin })}`)
    await w.page.locator('[data-testid=rules-summary]').waitFor()
    await shot(w.page, 'pages-05-rules')
  })

  // ---- assets ledger ----
  await step('assets: import a CSV with Chinese headers, see rows and problems', async () => {
    await w.page.goto(base + '/assets')
    await w.page.locator('[data-testid=assets-import]').click()
    await w.page.locator('[data-testid=assets-import-file]').setInputFiles({ name: '台账.csv', mimeType: 'text/csv', buffer: Buffer.from(ASSETS_CSV) })
    await w.page.locator('[data-testid=assets-import-submit]').click()
    await w.page.locator('[data-testid=assets-import-report]').waitFor()
    assert((await w.page.locator('[data-testid=import-created]').innerText()).trim() === '2', 'created count')
    const problems = await w.page.locator('[data-testid=import-problems]').innerText()
    assert(problems.includes('4:2') && problems.includes('不存在的类型'), `problems: ${problems}`)
    await shot(w.page, 'pages-06-assets-import')
    await w.page.keyboard.press('Escape')
    const table = w.page.locator('[data-testid=assets-table]')
    await table.getByText('HIS数据库服务器').waitFor()
    await table.getByText('PACS影像归档').waitFor()
    const api = await sec.ok('GET', '/api/v1/assets')
    const shown = await w.page.locator('[data-testid=assets-table] .el-table__body-wrapper tr.el-table__row').count()
    assert(shown === api.items.length && shown === 2, `table ${shown} rows, API ${api.items.length}`)
  })

  await step('assets: filter and detail with attribute sources and history', async () => {
    await w.page.locator('[data-testid=assets-zone]').click()
    await w.page.locator('.el-select-dropdown__item').getByText('医疗网', { exact: true }).click()
    await w.page.locator('[data-testid=assets-search]').click()
    await w.page.waitForFunction(() => document.querySelectorAll('[data-testid=assets-table] .el-table__body-wrapper tr.el-table__row').length === 1)
    await w.page.locator('[data-testid=assets-table]').getByText('PACS影像归档').click()
    const d = w.page.locator('[data-testid=asset-detail]')
    await d.locator('[data-testid=asset-attributes]').getByText('放射科').waitFor()
    await d.locator('[data-testid=asset-attributes]').getByText('导入').first().waitFor()
    await d.locator('[data-testid=asset-history]').getByText(SEC.username).first().waitFor()
    await shot(w.page, 'pages-07-asset-detail')
    const href = await w.page.locator('[data-testid=assets-export-csv]').getAttribute('href')
    const csv = await w.page.evaluate(async (h) => (await fetch(h)).text(), href)
    assert(csv.startsWith('资产编号,资产名称') && csv.includes('PACS影像归档'), `export: ${csv.slice(0, 120)}`)
  })
  await w.close()

  // ---- roles ----
  const a = await newPage('analyst')
  allProblems.push(a.problems)
  await step('an analyst sees the pages but no write buttons; the server refuses the writes', async () => {
    await signIn(a.page, base, ANALYST)
    await a.page.goto(base + '/rules')
    await a.page.locator('[data-testid=rules-table] .el-table__row').first().waitFor({ timeout: 15_000 })
    assert(await a.page.locator('[data-testid=rules-upload]').count() === 0, 'analyst sees the upload button')
    assert(await a.page.locator('[data-testid^=rule-toggle-]').count() === 0, 'analyst sees rule switches')
    await a.page.goto(base + '/assets')
    await a.page.locator('[data-testid=assets-table]').getByText('HIS数据库服务器').waitFor()
    assert(await a.page.locator('[data-testid=assets-import]').count() === 0, 'analyst sees the import button')
    await a.page.goto(base + '/events')
    await a.page.locator('[data-testid=events-table]').getByText('his-db01').first().waitFor()
    const status = await a.page.evaluate(async () => (await fetch('/api/v1/rules', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status)
    assert(status === 403, `analyst rule upload answered ${status}`)
    await shot(a.page, 'pages-08-analyst-rules')
  })
  await a.close()

  const v = await newPage('viewer')
  allProblems.push(v.problems)
  await step('a viewer reaches none of these pages, even by URL', async () => {
    await signIn(v.page, base, VIEWER)
    for (const m of ['menu-events', 'menu-assets', 'menu-rules'])
      assert(await v.page.locator(`[data-testid=${m}]`).count() === 0, `viewer sees ${m}`)
    for (const path of ['/events', '/assets', '/rules']) {
      await v.page.goto(base + path)
      await v.page.waitForURL(/\/403/)
    }
    for (const path of ['/api/v1/events', '/api/v1/assets', '/api/v1/rules'])
      assert(await apiStatus(v.page, path) === 403, `viewer GET ${path} not 403`)
    await shot(v.page, 'pages-09-viewer-403')
  })
  await v.close()

  await step('no CSP violations or page errors', async () => {
    const all = allProblems.flat()
    assert(all.length === 0, all.join('\n'))
  })
}

run(main)
