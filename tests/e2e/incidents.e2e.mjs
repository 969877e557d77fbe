// End-to-end test of the portal's incident, alert, dashboard and wall pages against the real
// triage API (/api/v1/triage). Alerts are seeded through the API from the analyst's browser session
// (fetch with the CSRF token from /auth/me); everything else is done in the UI and checked against
// the API. Harness and environment: lib/harness.mjs.
import {
  PORTAL, step, assert, startServer, newPage, shot, fill, login, forcedChange, apiStatus, createUser, log, run,
} from './lib/harness.mjs'

const ADMIN_PASSWORD = 'Admin-E2e-Passw0rd!'
const ANALYST = { username: 'e2e.analyst', initial: 'Init-Analyst-Passw0rd!', password: 'Analyst-E2e-Passw0rd!' }
const ONCALL = { username: 'e2e.oncall', initial: 'Init-Oncall-Passw0rd!', password: 'Oncall-E2e-Passw0rd!' }
const VIEWER = { username: 'e2e.viewer', initial: 'Init-Viewer-Passw0rd!', password: 'Viewer-E2e-Passw0rd!' }

// Calls the API from the page with the session cookie and the CSRF token (as the portal does).
async function api(page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const me = await (await fetch('/api/v1/auth/me', { credentials: 'same-origin' })).json()
    const r = await fetch(path, {
      method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token ?? '' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await r.text()
    return { status: r.status, body: text ? JSON.parse(text) : null }
  }, { method, path, body })
}

async function text(page, testid) {
  return (await page.locator(`[data-testid=${testid}]`).first().innerText()).trim()
}

// Picks an Element Plus select option by its visible text.
async function choose(page, selectTestid, optionText) {
  await page.locator(`[data-testid=${selectTestid}]`).first().click()
  await page.locator('.el-select-dropdown:visible .el-select-dropdown__item').getByText(optionText, { exact: true }).first().click()
}

// The seed: two critical alerts on different hosts and one high one (each raises an incident), a
// medium alert repeated three times on one host (one deduplicated record, count 3, no incident) and
// a low one with a user and a source address.
function seedAlerts() {
  const now = Date.now()
  const at = (minAgo) => new Date(now - minAgo * 60_000).toISOString()
  return [
    { rule_id: 'e2e-ransom', rule_title: '勒索软件加密行为', level: 'critical', host: 'his-db01', src_ip: '10.1.2.3', attack_tactic: 'impact', attack_technique: 'T1486', event_time: at(3) },
    { rule_id: 'e2e-webshell', rule_title: 'Web 后门上传', level: 'critical', host: 'pacs-web01', attack_tactic: 'persistence', attack_technique: 'T1505.003', event_time: at(2) },
    { rule_id: 'e2e-lateral', rule_title: '横向移动：远程服务创建', level: 'high', host: 'lis-app02', user: 'svc_lis', attack_tactic: 'lateral-movement', attack_technique: 'T1021', event_time: at(1) },
    ...[0, 1, 2].map((i) => ({ rule_id: 'e2e-portscan', rule_title: '内网端口扫描', level: 'medium', host: 'nurse-pc07', src_ip: '10.9.9.7', event_time: at(5 - i) })),
    { rule_id: 'e2e-login-fail', rule_title: '多次登录失败', level: 'low', host: 'emr-app01', user: 'dr.wang', src_ip: '10.3.3.3', event_time: at(4) },
  ]
}

async function main() {
  const server = await startServer()
  const { base } = server
  log(`e2e: medsoc on ${base}, portal ${PORTAL}`)
  const allProblems = []
  const ids = {}

  const admin = await newPage('admin')
  allProblems.push(admin.problems)
  await step('administrator: first login, creates two analysts and a viewer', async () => {
    await login(admin.page, base, 'admin', server.password)
    await forcedChange(admin.page, server.password, ADMIN_PASSWORD)
    await admin.page.waitForURL(/\/dashboard/)
    // The system administrator's role may not read incidents: the card says so instead of a number.
    await admin.page.locator('[data-testid=card-incidents-severity]').getByText('当前角色无权查看').waitFor()
    await admin.page.goto(base + '/users')
    for (const [u, role] of [[ANALYST, 'analyst'], [ONCALL, 'analyst'], [VIEWER, 'viewer']]) await createUser(admin.page, u, role)
    const users = (await api(admin.page, 'GET', '/api/v1/users')).body.items
    for (const u of users) ids[u.username] = u.id
    assert(ids[ANALYST.username] && ids[ONCALL.username] && ids[VIEWER.username], 'users not created')
  })
  await admin.close()

  const analyst = await newPage('analyst')
  allProblems.push(analyst.problems)
  const page = analyst.page
  let incidents = []
  await step('analyst: forced change; alerts seeded through the API raise incidents', async () => {
    await login(page, base, ANALYST.username, ANALYST.initial)
    await forcedChange(page, ANALYST.initial, ANALYST.password)
    const r = await api(page, 'POST', '/api/v1/triage/alerts', { alerts: seedAlerts() })
    assert(r.status === 200, `ingest ${r.status} ${JSON.stringify(r.body)}`)
    assert(r.body.incidents_created >= 3, `incidents created: ${r.body.incidents_created}`)
    // e2e.oncall is on duty now: the assignment picker offers them by name.
    const now = Date.now()
    const s = await api(page, 'POST', '/api/v1/triage/oncall/shifts', {
      user_id: ids[ONCALL.username], display: ONCALL.username, tier: 1,
      starts_at: new Date(now - 3600_000).toISOString(), ends_at: new Date(now + 8 * 3600_000).toISOString(),
    })
    assert(s.status === 201, `shift ${s.status} ${JSON.stringify(s.body)}`)
    incidents = (await api(page, 'GET', '/api/v1/triage/incidents?status=open&limit=1000')).body.items
    log(`  seeded: ${r.body.alerts} alerts, ${r.body.new_records} records, ${incidents.length} open incidents`)
  })

  await step('dashboard: incident and noise-reduction numbers equal the API and link to the lists', async () => {
    await page.goto(base + '/dashboard')
    await page.locator('[data-testid=inc-open-total]').waitFor()
    assert(Number(await text(page, 'inc-open-total')) === incidents.length, `open ${await text(page, 'inc-open-total')} != ${incidents.length}`)
    for (const sev of ['critical', 'high', 'medium', 'low']) {
      const want = incidents.filter((i) => i.severity === sev).length
      const got = Number(await text(page, 'inc-sev-' + sev))
      assert(got === want, `${sev}: dashboard ${got} != API ${want}`)
    }
    // All seeded incidents are minutes old: none breached its SLA (critical acknowledge: 15 min).
    const slaSum = await Promise.all(['breached', 'at_risk', 'paused', 'on_track'].map((s) => text(page, 'inc-sla-' + s)))
    assert(slaSum.map(Number).reduce((a, b) => a + b, 0) === incidents.length, `SLA states ${slaSum} do not add up to ${incidents.length}`)
    assert(Number(slaSum[0]) === 0, `breached ${slaSum[0]}`)
    // The cards show GET /triage/summary, which must agree with the list above.
    const summary = (await api(page, 'GET', '/api/v1/triage/summary')).body
    assert(summary.incidents.open === incidents.length, `summary open ${summary.incidents.open} != list ${incidents.length}`)
    for (const [i, s] of ['breached', 'at_risk', 'paused', 'on_track'].entries())
      assert(Number(slaSum[i]) === summary.incidents.by_sla[s], `SLA ${s}: dashboard ${slaSum[i]} != summary ${summary.incidents.by_sla[s]}`)
    const noise = (await api(page, 'GET', '/api/v1/triage/noise-reduction')).body.total
    await page.locator('[data-testid=noise-alerts-in]').waitFor()
    assert(Number(await text(page, 'noise-alerts-in')) === noise.alerts_in, `alerts in ${await text(page, 'noise-alerts-in')} != ${noise.alerts_in}`)
    assert(Number(await text(page, 'noise-incidents')) === noise.incidents, 'incidents out differ')
    assert(noise.alerts_in === seedAlerts().length, `API alerts_in ${noise.alerts_in}`)
    const openAlerts = (await api(page, 'GET', '/api/v1/triage/alerts?status=open&limit=500')).body.items.length
    assert(summary.alerts.open === openAlerts, `summary open alerts ${summary.alerts.open} != list ${openAlerts}`)
    await page.locator('[data-testid=module-incidents]').getByText(String(incidents.length), { exact: true }).waitFor()
    await page.locator('[data-testid=module-alerts]').getByText(String(openAlerts), { exact: true }).waitFor()
    await shot(page, 'inc-01-dashboard')
    // The critical number opens the list filtered to critical incidents.
    await page.locator('[data-testid=inc-sev-critical]').click()
    await page.waitForURL(/\/incidents\?severity=critical/)
    const critical = incidents.filter((i) => i.severity === 'critical').length
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=incidents-table] .el-table__body tr.el-table__row').length === n, critical)
    await shot(page, 'inc-02-list-critical')
  })

  let target = null
  await step('incident detail: SLA clock counts live; acknowledge, assign and comment update the timeline', async () => {
    target = incidents.find((i) => i.severity === 'critical')
    await page.locator('[data-testid=incidents-table]').getByText(target.number).click()
    await page.waitForURL(new RegExp('/incidents/' + target.id))
    await page.locator('[data-testid=incident-status]').getByText('新建').waitFor()
    const c1 = await text(page, 'sla-clock-acknowledge')
    assert(/剩余 \d+:\d\d/.test(c1), `acknowledge clock: ${c1}`)
    await page.waitForTimeout(2200)
    const c2 = await text(page, 'sla-clock-acknowledge')
    assert(c1 !== c2, 'the SLA clock does not count')
    const timelineBefore = await page.locator('[data-testid=timeline] .el-timeline-item').count()

    await page.locator('[data-testid=inc-action-acknowledged]').click()
    await fill(page, 'transition-note', '值班分析员已确认，开始排查 his-db01')
    await page.locator('[data-testid=transition-submit]').click()
    await page.locator('[data-testid=incident-status]').getByText('已确认').waitFor()
    await page.locator('[data-testid=sla-clock-acknowledge]').getByText('已达成').waitFor()

    await choose(page, 'assign-select', `${ONCALL.username} (值班中)`)
    await page.locator('[data-testid=assign-submit]').click()
    await page.locator('[data-testid=incident-owner]').getByText(ONCALL.username).waitFor()

    await page.getByRole('tab', { name: /处置备注/ }).click()
    await fill(page, 'comment-input', '已隔离 his-db01 的网络，等待医院信息科确认备份状态。')
    await page.locator('[data-testid=comment-submit]').click()
    await page.locator('[data-testid=comment]').getByText('已隔离 his-db01').waitFor()

    await page.getByRole('tab', { name: /时间线/ }).click()
    const tl = page.locator('[data-testid=timeline]')
    await tl.getByText('状态变更').first().waitFor()
    await tl.getByText('分派').first().waitFor()
    await tl.getByText('备注').first().waitFor()
    const timelineAfter = await tl.locator('.el-timeline-item').count()
    assert(timelineAfter >= timelineBefore + 3, `timeline ${timelineBefore} -> ${timelineAfter}`)
    const d = (await api(page, 'GET', '/api/v1/triage/incidents/' + target.id)).body
    assert(d.status === 'acknowledged' && d.owner === ids[ONCALL.username], `API: status ${d.status}, owner ${d.owner}`)
    assert(d.comments.length === 1 && d.comments[0].author === ids[ANALYST.username], 'comment not stored')
    await shot(page, 'inc-03-detail')
  })

  await step('incident lifecycle: investigating → contained → resolved → closed needs a review; reopen', async () => {
    for (const [to, label] of [['investigating', '调查中'], ['contained', '已遏制'], ['resolved', '已解决']]) {
      await page.locator(`[data-testid=inc-action-${to}]`).click()
      await page.locator('[data-testid=transition-submit]').click()
      await page.locator('[data-testid=incident-status]').getByText(label, { exact: true }).waitFor()
    }
    await page.locator('[data-testid=inc-action-closed]').click()
    await page.locator('[data-testid=transition-submit]').click()
    await page.locator('[data-testid=transition-error]').getByText('复盘').waitFor()
    await fill(page, 'transition-review', '复盘：弱口令导致入侵，已强制改密并加固 RDP。')
    await page.locator('[data-testid=transition-submit]').click()
    await page.locator('[data-testid=incident-status]').getByText('已关闭').waitFor()
    await shot(page, 'inc-04-closed')
    await page.locator('[data-testid=inc-action-acknowledged]').getByText('重新打开').click()
    await page.locator('[data-testid=transition-submit]').click()
    await page.locator('[data-testid=incident-status]').getByText('已确认').waitFor()
    const d = (await api(page, 'GET', '/api/v1/triage/incidents/' + target.id)).body
    assert(d.status === 'acknowledged' && d.review.includes('弱口令'), `after reopen: ${d.status}`)
    assert(d.timeline.some((e) => e.kind === 'reopened'), 'no reopened entry')
  })

  await step('alerts: grouped by rule with dedup count; verdict; suppression from an alert', async () => {
    await page.goto(base + '/alerts')
    const groups = page.locator('[data-testid=alert-groups]')
    await groups.locator('[data-testid="group-e2e-portscan"]').waitFor()
    const alerts = (await api(page, 'GET', '/api/v1/triage/alerts?limit=500')).body.items
    const scan = alerts.find((a) => a.rule_id === 'e2e-portscan')
    assert(scan && scan.count === 3, `portscan dedup count ${scan?.count}`)
    const rules = new Set(alerts.map((a) => a.rule_id))
    assert(await groups.locator('> .el-table__inner-wrapper > .el-table__body-wrapper tr.el-table__row').count() === rules.size
      || await page.locator('[data-testid^=group-e2e-]').count() === rules.size, 'one group per rule')
    // Expand the port-scan group.
    await groups.locator('tr', { has: page.locator('[data-testid="group-e2e-portscan"]') }).locator('.el-table__expand-icon').click()
    await page.locator(`[data-testid=count-${scan.id}]`).getByText('3').waitFor()
    await choose(page, `verdict-${scan.id}`, '良性（预期行为）')
    await page.getByText('研判结论已保存').first().waitFor()
    const after = (await api(page, 'GET', '/api/v1/triage/alerts/' + scan.id)).body
    assert(after.verdict === 'benign_true_positive', `verdict ${after.verdict}`)
    await page.locator(`[data-testid=suppress-${scan.id}]`).click()
    const dlg = page.locator('[data-testid=suppress-dialog]')
    await dlg.getByText('host = nurse-pc07').waitFor()
    await page.locator('[data-testid=suppress-field-src_ip]').click()
    await shot(page, 'inc-05-suppress-dialog')
    await page.locator('[data-testid=suppress-submit]').click()
    await dlg.locator('[data-testid=suppress-error]').waitFor() // the reason is required
    await fill(page, 'suppress-reason', '护士站资产巡检脚本，信息科已确认')
    await page.locator('[data-testid=suppress-submit]').click()
    await page.getByText('已创建抑制规则').first().waitFor()
    const sups = (await api(page, 'GET', '/api/v1/triage/suppressions')).body.items
    const sup = sups.find((s) => s.rule_id === 'e2e-portscan' && s.origin === 'alert')
    assert(sup, `no suppression from the alert: ${JSON.stringify(sups)}`)
    const conds = Object.fromEntries(sup.conditions.map((c) => [c.field, c.values]))
    assert(conds.host?.[0] === 'nurse-pc07' && conds.src_ip?.[0] === '10.9.9.7', `conditions ${JSON.stringify(sup.conditions)}`)
    const days = (Date.parse(sup.expires_at) - Date.now()) / 86400_000
    assert(days > 29 && days < 31, `expiry in ${days} days`)
    // The same alert again is now suppressed.
    const again = await api(page, 'POST', '/api/v1/triage/alerts', { alerts: [seedAlerts()[3]] })
    assert(again.body.suppressed === 1, `re-sent alert not suppressed: ${JSON.stringify(again.body)}`)
    await page.locator('[data-testid=group-entity]').click()
    await page.waitForURL(/group=entity/)
    await page.locator('[data-testid="group-host:nurse-pc07"]').waitFor()
    await shot(page, 'inc-06-alerts-by-entity')
  })

  await step('wall: live incident ticker in the dark theme with the API numbers', async () => {
    await page.goto(base + '/wall')
    await page.locator('[data-testid=wall-ticker]').waitFor()
    assert(await page.evaluate(() => document.documentElement.classList.contains('dark')), 'wall not dark')
    const open = (await api(page, 'GET', '/api/v1/triage/incidents?status=open&limit=1000')).body.items
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=wall-ticker] .ticker-item').length === Math.min(n, 8), open.length)
    const crit = open.filter((i) => i.severity === 'critical').length
    assert(Number(await text(page, 'wall-sev-critical')) === crit, 'wall critical count differs')
    const wallSummary = (await api(page, 'GET', '/api/v1/triage/summary')).body.incidents
    assert(wallSummary.by_severity.critical === crit, 'summary critical count differs from the list')
    assert(Number(await text(page, 'wall-sla-breached')) === wallSummary.by_sla.breached, 'wall breached count differs')
    const first = await page.locator('[data-testid=wall-ticker] .ticker-item').first().innerText()
    assert(first.includes('严重'), `ticker does not start with a critical incident: ${first}`)
    await shot(page, 'inc-07-wall')
  })
  await analyst.close()

  const viewer = await newPage('viewer')
  allProblems.push(viewer.problems)
  await step('viewer: noise reduction on the dashboard, no incident or alert pages or write buttons', async () => {
    await login(viewer.page, base, VIEWER.username, VIEWER.initial)
    await forcedChange(viewer.page, VIEWER.initial, VIEWER.password)
    await viewer.page.waitForURL(/\/dashboard/)
    await viewer.page.locator('[data-testid=card-incidents-severity]').getByText('当前角色无权查看').waitFor()
    await viewer.page.locator('[data-testid=noise-alerts-in]').waitFor()
    await shot(viewer.page, 'inc-08-dashboard-viewer')
    for (const path of ['/incidents', '/incidents/' + target.id, '/alerts']) {
      await viewer.page.goto(base + path)
      await viewer.page.locator('[data-testid=forbidden]').waitFor()
      assert(await viewer.page.locator('[data-testid^=inc-action-], [data-testid^=suppress-], [data-testid=assign-submit]').count() === 0,
        `write buttons reachable on ${path}`)
    }
    for (const [method, path] of [['GET', '/api/v1/triage/incidents'], ['GET', '/api/v1/triage/alerts'],
      ['PATCH', '/api/v1/triage/incidents/' + target.id], ['POST', '/api/v1/triage/alerts/x/suppress']]) {
      const s = method === 'GET' ? await apiStatus(viewer.page, path) : (await api(viewer.page, method, path, { status: 'closed' })).status
      assert(s === 403, `viewer got ${s} for ${method} ${path}`)
    }
  })
  await viewer.close()

  await step('no Content-Security-Policy violations or page errors', async () => {
    const all = allProblems.flat()
    assert(all.length === 0, all.join('\n'))
  })
}

await run(main)
