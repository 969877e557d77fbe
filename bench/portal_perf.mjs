#!/usr/bin/env node
// Portal performance (issue 7): with 10k assets and 100k alerts seeded, the dashboard's first
// meaningful paint on loopback and the p95 latency of the API calls behind every page.
//
// Starts a Release `medsoc serve` on 127.0.0.1 with a temporary data directory, logs in through the
// portal in headless chromium (playwright-core from web/node_modules, Debian's chromium), visits
// every page and records the API GETs each page makes, then replays each call REPEAT times with the
// same session. Every figure is printed with baselines measured in the same run: GET /healthz
// (the server's floor) and the same call on the empty database (before seeding).
//
//   MEDSOC_BIN   server binary (default build/release/medsoc)
//   E2E_PORTAL   built portal (default web/dist)
//   ASSETS=10000 ALERTS=100000 REPEAT=50 PAINT_RUNS=5
//
// Usage: node bench/portal_perf.mjs      (prints a Markdown table at the end for docs/performance.md)
import { readFileSync } from 'node:fs'
import { rmSync } from 'node:fs'
import { cpus } from 'node:os'
import { PORTAL, startServer, stopServer, newPage, login, log } from '../tests/e2e/lib/harness.mjs'
import { seedUsers } from '../tests/e2e/lib/api.mjs'

process.env.MEDSOC_BIN ??= 'build/release/medsoc'
const ASSETS = Number(process.env.ASSETS ?? 10_000)
const ALERTS = Number(process.env.ALERTS ?? 100_000)
const REPEAT = Number(process.env.REPEAT ?? 50)
const PAINT_RUNS = Number(process.env.PAINT_RUNS ?? 5)

const SEC = { username: 'bench.sec', role: 'secadmin', initial: 'Init-Bench-Passw0rd!', password: 'Bench-Sec-Passw0rd!1' }
const AUD = { username: 'bench.aud', role: 'auditor', initial: 'Init-Bench-Passw0rd!', password: 'Bench-Aud-Passw0rd!1' }
const ADMIN_PASSWORD = 'Bench-Admin-Passw0rd!1'

// Pages per user (the sysadmin sees the administration pages, the auditor the audit trail).
const PAGES = {
  [SEC.username]: ['/dashboard', '/wall', '/incidents', '/alerts', '/events', '/assets', '/rules', '/tokens'],
  admin: ['/dashboard', '/users', '/tenants', '/config'],
  [AUD.username]: ['/audit'],
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}
const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1))

async function timeCall(session, path, n) {
  const times = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const r = await session.call('GET', path)
    times.push(performance.now() - t0)
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text.slice(0, 200)}`)
  }
  return { p50: pct(times, 50), p95: pct(times, 95), max: Math.max(...times) }
}

// Visits the pages in the browser and returns the distinct API GETs they made.
async function apiCallsOfPages(base, user, pages) {
  const b = await newPage('perf-' + user.username)
  const calls = new Set()
  b.page.on('request', (r) => {
    const u = new URL(r.url())
    if (r.method() === 'GET' && (u.pathname.startsWith('/api/') || u.pathname === '/healthz') &&
        !u.pathname.endsWith('/openapi.json') && u.pathname !== '/api/v1/auth/me')
      calls.add(JSON.stringify({ page: b.current, path: u.pathname + u.search }))
  })
  await login(b.page, base, user.username, user.password)
  await b.page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 30_000 })
  for (const p of pages) {
    b.current = p
    await b.page.goto(base + p, { waitUntil: 'networkidle' })
    await b.page.waitForTimeout(300)
    if (process.env.PERF_DEBUG) log(`visited ${p} → ${b.page.url()}`)
  }
  if (b.problems.length) log('page problems: ' + b.problems.join('; '))
  await b.close()
  return [...calls].map((c) => JSON.parse(c))
}

// First meaningful paint of /dashboard: navigation start → the DOM's last change once every API
// answer of the page has arrived (network idle), i.e. when the numbers are on screen. Cold: a new
// browser profile; warm: reloads with the cached hashed assets.
async function dashboardPaint(base, user) {
  const b = await newPage('paint')
  await b.page.addInitScript(() => {
    window.__lastMutation = 0
    new MutationObserver(() => { window.__lastMutation = performance.now() })
      .observe(document, { subtree: true, childList: true, characterData: true, attributes: true })
  })
  await login(b.page, base, user.username, user.password)
  await b.page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 30_000 })
  await b.page.goto('about:blank')
  const runs = []
  for (let i = 0; i < PAINT_RUNS; i++) {
    await b.page.goto(base + '/dashboard', { waitUntil: 'networkidle' })
    runs.push(await b.page.evaluate(() => {
      const api = performance.getEntriesByType('resource').filter((e) => /\/api\/|\/healthz/.test(e.name))
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0
      return { fmp: window.__lastMutation, lastApi: Math.max(0, ...api.map((e) => e.responseEnd)), fcp, apiCalls: api.length }
    }))
  }
  await b.close()
  return runs
}

async function seed(base, sec) {
  // 10k assets through the spreadsheet import (Chinese headers), in batches under the body limit.
  const header = '资产名称,资产类型,IP地址,主机名,网络区域,业务系统,责任部门,机密性,完整性,可用性'
  const kinds = ['服务器', '终端', '临床终端', '网络设备', '打印机', '影像设备', '监护设备', '数据库']
  const zones = ['内网', '医疗网', 'DMZ', '管理网']
  const systems = ['HIS', 'EMR', 'PACS', 'LIS', 'RIS', '']
  let t0 = performance.now()
  for (let start = 0; start < ASSETS; start += 2000) {
    const rows = [header]
    for (let i = start; i < Math.min(ASSETS, start + 2000); i++)
      rows.push([`资产-${i}`, kinds[i % kinds.length], `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `host-${i}`,
        zones[i % zones.length], systems[i % systems.length], '信息科', 1 + (i % 5), 1 + ((i >> 1) % 5), 1 + ((i >> 2) % 5)].join(','))
    const r = await sec.ok('POST', '/api/v1/assets-import?format=csv', undefined, { raw: rows.join('\n') + '\n', contentType: 'text/csv' })
    if (r.problems.length) throw new Error('asset import problems: ' + JSON.stringify(r.problems.slice(0, 3)))
  }
  log(`seeded ${ASSETS} assets in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

  // 100k distinct alerts (200 rules x 500 hosts, so none is deduplicated) in batches of 2000.
  const levels = ['informational', 'low', 'low', 'medium', 'high']
  t0 = performance.now()
  const now = Date.now()
  let incidents = 0
  for (let start = 0; start < ALERTS; start += 2000) {
    const alerts = []
    for (let i = start; i < Math.min(ALERTS, start + 2000); i++) {
      const host = Math.floor(i / 200) % Math.max(1, ASSETS)
      alerts.push({
        rule_id: `bench-rule-${i % 200}`, rule_title: `基准规则 ${i % 200}`, source: 'sigma', level: levels[i % levels.length],
        host: `host-${host}`, dst_ip: `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`, user: `user${i % 300}`,
        attack_tactic: 'credential-access', event_time: new Date(now - (ALERTS - i) * 500).toISOString(),
      })
    }
    const r = await sec.ok('POST', '/api/v1/triage/alerts', { alerts })
    incidents += r.incidents_created
  }
  log(`seeded ${ALERTS} alerts in ${((performance.now() - t0) / 1000).toFixed(1)} s (${incidents} incidents raised)`)
}

async function main() {
  const server = await startServer(['  max_body_bytes: 16MiB'])
  const { base } = server
  log(`portal_perf: ${process.env.MEDSOC_BIN} on ${base}, portal ${PORTAL}`)
  log(`machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
  const s = await seedUsers(base, server.password, ADMIN_PASSWORD, [SEC, AUD])
  const sessions = { [SEC.username]: s[SEC.username], admin: s.admin, [AUD.username]: s[AUD.username] }
  const users = { [SEC.username]: SEC, admin: { username: 'admin', password: ADMIN_PASSWORD }, [AUD.username]: AUD }

  // The API calls behind every page (recorded on the empty database).
  const calls = []
  for (const [u, pages] of Object.entries(PAGES))
    for (const c of await apiCallsOfPages(base, users[u], pages)) calls.push({ ...c, user: u })
  const key = (c) => c.user + ' ' + c.path
  const unique = []
  for (const c of calls) if (!unique.some((x) => key(x) === key(c))) unique.push(c)
  if (process.env.PERF_DEBUG) for (const c of unique) log(`  ${c.user} ${c.page} ${c.path}`)
  log(`${unique.length} distinct API calls behind ${Object.values(PAGES).flat().length} page visits`)

  const healthEmpty = await timeCall(sessions[SEC.username], '/healthz', REPEAT)
  const empty = new Map()
  for (const c of unique) empty.set(key(c), await timeCall(sessions[c.user], c.path, REPEAT))
  const paintEmpty = await dashboardPaint(base, SEC)

  await seed(base, sessions[SEC.username])
  // Detail calls that need ids from the data.
  const sec = sessions[SEC.username]
  const inc = (await sec.ok('GET', '/api/v1/triage/incidents?limit=1')).items?.[0]
  const asset = (await sec.ok('GET', '/api/v1/assets?limit=1')).items?.[0]
  const detail = []
  if (inc) detail.push({ page: '/incidents/:id', path: `/api/v1/triage/incidents/${inc.id}`, user: SEC.username })
  if (asset) {
    detail.push({ page: '/assets (detail)', path: `/api/v1/assets/${asset.id}`, user: SEC.username })
    detail.push({ page: '/assets (detail)', path: `/api/v1/assets/${asset.id}/history`, user: SEC.username })
  }

  const health = await timeCall(sec, '/healthz', REPEAT)
  const rows = []
  for (const c of [...unique, ...detail]) {
    const full = await timeCall(sessions[c.user], c.path, REPEAT)
    rows.push({ ...c, full, empty: empty.get(key(c)) })
  }
  const paint = await dashboardPaint(base, SEC)

  // ---- report ----
  log('')
  log(`GET /healthz p95: ${ms(healthEmpty.p95)} ms empty, ${ms(health.p95)} ms seeded`)
  log('')
  log(`| page (user) | API call | p50 ms | p95 ms | p95 on empty DB | ratio to empty | ratio to /healthz |`)
  log(`|---|---|---|---|---|---|---|`)
  for (const r of rows.sort((a, b) => b.full.p95 - a.full.p95))
    log(`| ${r.page} (${r.user}) | \`${r.path.replace(/from=[^&]*&to=[^&]*/, 'from=…&to=…')}\` | ${ms(r.full.p50)} | ${ms(r.full.p95)} | ${r.empty ? ms(r.empty.p95) : '—'} | ` +
      `${r.empty ? (r.full.p95 / r.empty.p95).toFixed(1) + '×' : '—'} | ${(r.full.p95 / health.p95).toFixed(1)}× |`)
  const worst = rows.reduce((a, b) => (b.full.p95 > a.full.p95 ? b : a))
  log('')
  const fmt = (runs) => {
    const cold = runs[0].fmp
    const warm = runs.slice(1).map((x) => x.fmp)
    return `cold ${cold.toFixed(0)} ms, warm median ${warm.length ? pct(warm, 50).toFixed(0) : '—'} ms ` +
      `(FCP ${runs[0].fcp.toFixed(0)} ms, last API answer ${runs[0].lastApi.toFixed(0)} ms, ${runs[0].apiCalls} API calls)`
  }
  log(`dashboard first meaningful paint, empty DB: ${fmt(paintEmpty)}`)
  log(`dashboard first meaningful paint, ${ASSETS} assets + ${ALERTS} alerts: ${fmt(paint)}`)
  log(`worst API p95: ${ms(worst.full.p95)} ms (${worst.path}); goal: < 200 ms ${worst.full.p95 < 200 ? 'met' : 'NOT met'}`)
  const cold = paint[0].fmp
  log(`dashboard paint goal: < 1500 ms ${cold < 1500 ? 'met' : 'NOT met'} (cold ${cold.toFixed(0)} ms)`)
  await stopServer()
  rmSync(server.dataDir, { recursive: true, force: true })
}

main().catch(async (e) => {
  console.error(e?.stack ?? e)
  await stopServer()
  process.exit(1)
})
