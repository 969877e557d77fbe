// End-to-end test of the web portal's foundation: serving, login, forced password change, the
// dashboard, users, roles and menus, audit, lockout. Harness and environment: lib/harness.mjs.
import {
  PORTAL, step, assert, startServer, newPage, shot, fill, login, forcedChange, apiStatus, menuNames,
  createUser, log, run,
} from './lib/harness.mjs'

const ADMIN_PASSWORD = 'Admin-E2e-Passw0rd!'
const VIEWER = { username: 'e2e.viewer', initial: 'Init-Viewer-Passw0rd!', password: 'Viewer-E2e-Passw0rd!' }
const AUDITOR = { username: 'e2e.auditor', initial: 'Init-Auditor-Passw0rd!', password: 'Auditor-E2e-Passw0rd!' }

// ---- the run ----
async function main() {
  const server = await startServer()
  const { base } = server
  log(`e2e: medsoc on ${base}, portal ${PORTAL}`)
  const allProblems = []

  await step('server serves the portal with CSP and caching headers', async () => {
    const index = await fetch(base + '/incidents/123')
    assert(index.status === 200, `SPA fallback status ${index.status}`)
    const html = await index.text()
    assert(html.includes('<div id="app">'), 'index.html not served for an app route')
    assert((index.headers.get('content-security-policy') ?? '').includes("script-src 'self'"), 'no CSP on the portal')
    assert(index.headers.get('cache-control') === 'no-cache', `index cache-control ${index.headers.get('cache-control')}`)
    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1]
    assert(asset, 'no hashed script in index.html')
    const a = await fetch(base + asset)
    assert(a.status === 200 && (a.headers.get('content-type') ?? '').startsWith('text/javascript'), 'asset not served as JavaScript')
    assert(a.headers.get('cache-control') === 'public, max-age=31536000, immutable', 'asset not immutable')
    const etag = a.headers.get('etag')
    const again = await fetch(base + asset, { headers: { 'if-none-match': etag } })
    assert(again.status === 304, `If-None-Match gave ${again.status}`)
    const missing = await fetch(base + '/assets/missing-0000.js')
    assert(missing.status === 404, `missing asset gave ${missing.status}`)
    const api = await fetch(base + '/api/v1/nope')
    assert(api.status === 404 && (await api.json()).error.code === 'not_found', 'API 404 changed')
  })

  const admin = await newPage('admin')
  allProblems.push(admin.problems)
  await step('login page: wrong password shows the server message', async () => {
    await admin.page.goto(base + '/')
    await admin.page.waitForURL(/\/login/)
    await shot(admin.page, '01-login')
    await fill(admin.page, 'login-username', 'admin')
    await fill(admin.page, 'login-password', 'wrong-password')
    await admin.page.locator('[data-testid=login-submit]').click()
    const err = admin.page.locator('[data-testid=login-error]')
    await err.waitFor()
    const text = await err.innerText()
    assert(text.includes('用户名或密码错误'), `error text: ${text}`)
    await shot(admin.page, '02-login-error')
  })

  await step('first login forces the password change, then the dashboard', async () => {
    await login(admin.page, base, 'admin', server.password)
    await admin.page.locator('[data-testid=forced-title]').waitFor()
    await shot(admin.page, '03-forced-password-change')
    // A mismatch is caught in the browser.
    await fill(admin.page, 'pw-current', server.password)
    await fill(admin.page, 'pw-new', ADMIN_PASSWORD)
    await fill(admin.page, 'pw-confirm', ADMIN_PASSWORD + 'x')
    await admin.page.locator('[data-testid=pw-submit]').click()
    assert((await admin.page.locator('[data-testid=pw-error]').innerText()).includes('不一致'), 'mismatch not reported')
    // A policy violation comes from the server.
    await fill(admin.page, 'pw-new', 'short')
    await fill(admin.page, 'pw-confirm', 'short')
    await admin.page.locator('[data-testid=pw-submit]').click()
    await admin.page.locator('[data-testid=pw-error]').getByText('password policy').waitFor()
    await shot(admin.page, '04-password-policy-error')
    await fill(admin.page, 'pw-new', ADMIN_PASSWORD)
    await fill(admin.page, 'pw-confirm', ADMIN_PASSWORD)
    await admin.page.locator('[data-testid=pw-submit]').click()
    await admin.page.waitForURL(/\/dashboard/, { timeout: 20_000 })
    await admin.page.locator('[data-testid=health-status]').getByText('运行正常').waitFor()
    // The incidents API exists, but a system administrator may not read incidents (incidents.e2e.mjs covers them).
    await admin.page.locator('[data-testid=module-incidents]').getByText('当前角色无权查看').waitFor()
    const total = await admin.page.locator('[data-testid=users-total]').innerText()
    const apiUsers = await admin.page.evaluate(async () => (await (await fetch('/api/v1/users')).json()).items.length)
    assert(Number(total) === apiUsers, `dashboard users ${total} != API ${apiUsers}`)
    await shot(admin.page, '05-dashboard-sysadmin')
  })

  await step('system administrator menu: administration, no audit trail', async () => {
    const names = await menuNames(admin.page)
    for (const n of ['menu-dashboard', 'menu-users', 'menu-tokens', 'menu-tenants', 'menu-config'])
      assert(names.includes(n), `menu lacks ${n}: ${names}`)
    assert(!names.includes('menu-audit'), 'sysadmin sees the audit trail')
    await admin.page.goto(base + '/audit')
    await admin.page.locator('[data-testid=forbidden]').waitFor()
    assert((await apiStatus(admin.page, '/api/v1/audit')) === 403, 'server let sysadmin read the audit trail')
  })

  await step('users: create a viewer and an auditor through the UI', async () => {
    await admin.page.goto(base + '/users')
    await admin.page.locator('[data-testid=roles-table]').getByText('audit.read').waitFor()
    await createUser(admin.page, VIEWER, 'viewer')
    await createUser(admin.page, AUDITOR, 'auditor')
    const users = await admin.page.evaluate(async () => (await (await fetch('/api/v1/users')).json()).items)
    const v = users.find((u) => u.username === 'e2e.viewer')
    assert(v && v.role === 'viewer' && v.must_change_password, 'viewer not created as expected')
    assert(users.find((u) => u.username === 'e2e.auditor')?.role === 'auditor', 'auditor not created')
    await shot(admin.page, '06-users')
  })

  await step('API tokens: secret shown once, then revoked', async () => {
    await admin.page.goto(base + '/tokens')
    await admin.page.locator('[data-testid=token-create]').click()
    await fill(admin.page, 'token-name', 'e2e-collector')
    await admin.page.locator('[data-testid=token-scopes]').getByText('ingest.write').click()
    await admin.page.locator('[data-testid=token-create-submit]').click()
    const secret = (await admin.page.locator('[data-testid=token-secret]').innerText()).trim()
    assert(secret.startsWith('mst_'), `secret ${secret}`)
    await shot(admin.page, '07-token-secret')
    const r = await fetch(base + '/api/v1/auth/me', { headers: { authorization: 'Bearer ' + secret } })
    assert(r.status === 200, `token does not authenticate: ${r.status}`)
    await admin.page.getByRole('button', { name: '关闭' }).last().click()
    await admin.page.locator('[data-testid=tokens-table]').getByText('e2e-collector').waitFor()
    await admin.page.locator('[data-testid=tokens-table]').getByRole('button', { name: '吊销' }).first().click()
    await admin.page.locator('.el-message-box').getByRole('button', { name: /确定|OK/ }).click()
    await admin.page.locator('[data-testid=tokens-table]').getByText('已吊销').waitFor()
    const r2 = await fetch(base + '/api/v1/auth/me', { headers: { authorization: 'Bearer ' + secret } })
    assert(r2.status === 401, `revoked token still works: ${r2.status}`)
    await shot(admin.page, '08-tokens')
  })

  await step('tenants, configuration and wall pages render real data', async () => {
    await admin.page.goto(base + '/tenants')
    await admin.page.locator('[data-testid=tenants-table]').getByText('default', { exact: true }).waitFor()
    await shot(admin.page, '09-tenants')
    await admin.page.goto(base + '/config')
    await admin.page.locator('[data-testid=config-table]').getByText('server.portal_dir').waitFor()
    await shot(admin.page, '10-config')
    await admin.page.goto(base + '/wall')
    await admin.page.locator('[data-testid=wall]').waitFor()
    assert(await admin.page.evaluate(() => document.documentElement.classList.contains('dark')), 'wall not dark')
    await shot(admin.page, '11-wall')
    await admin.page.goto(base + '/dashboard')
    // English is switchable.
    await admin.page.locator('[data-testid=language]').first().click()
    await admin.page.getByRole('menuitem', { name: 'English' }).click()
    await admin.page.getByText('Security posture').first().waitFor()
    await shot(admin.page, '12-dashboard-en')
    await admin.page.locator('[data-testid=language]').first().click()
    await admin.page.getByRole('menuitem', { name: '中文' }).click()
  })
  await admin.close()

  const viewer = await newPage('viewer')
  allProblems.push(viewer.problems)
  await step('viewer: forced change, dashboards only, admin pages unreachable even by URL', async () => {
    await login(viewer.page, base, VIEWER.username, VIEWER.initial)
    await forcedChange(viewer.page, VIEWER.initial, VIEWER.password)
    await viewer.page.waitForURL(/\/dashboard/)
    const names = await menuNames(viewer.page)
    assert(JSON.stringify(names) === JSON.stringify(['menu-dashboard', 'menu-wall']), `viewer menu: ${names}`)
    await shot(viewer.page, '13-dashboard-viewer')
    for (const path of ['/users', '/tokens', '/tenants', '/config', '/audit']) {
      await viewer.page.goto(base + path)
      await viewer.page.locator('[data-testid=forbidden]').waitFor()
    }
    await shot(viewer.page, '14-viewer-forbidden')
    for (const path of ['/api/v1/users', '/api/v1/tokens', '/api/v1/config', '/api/v1/audit']) {
      const s = await apiStatus(viewer.page, path)
      assert(s === 403, `viewer got ${s} for ${path}`)
    }
  })
  await viewer.close()

  const auditor = await newPage('auditor')
  allProblems.push(auditor.problems)
  await step('auditor: lands on the audit trail; filters and paging work', async () => {
    await login(auditor.page, base, AUDITOR.username, AUDITOR.initial)
    await forcedChange(auditor.page, AUDITOR.initial, AUDITOR.password)
    await auditor.page.waitForURL(/\/audit/)
    await auditor.page.locator('[data-testid=audit-table]').getByText('e2e.viewer').first().waitFor()
    const names = await menuNames(auditor.page)
    assert(JSON.stringify(names) === JSON.stringify(['menu-audit']), `auditor menu: ${names}`)
    await fill(auditor.page, 'audit-user', 'admin')
    await fill(auditor.page, 'audit-action', 'POST /api/v1/users')
    await auditor.page.locator('[data-testid=audit-search]').click()
    await auditor.page.waitForTimeout(500)
    const rows = await auditor.page.locator('[data-testid=audit-table] .el-table__body tr.el-table__row').count()
    assert(rows === 2, `expected the 2 user creations, got ${rows}`)
    await shot(auditor.page, '15-audit')
    assert((await apiStatus(auditor.page, '/api/v1/users')) === 403, 'auditor may list users')
  })
  await auditor.close()

  const locked = await newPage('lockout')
  allProblems.push(locked.problems)
  await step('lockout: the 423 message with its time is shown', async () => {
    for (let i = 0; i < 5; i++) {
      await login(locked.page, base, VIEWER.username, 'Wrong-Passw0rd-' + i)
      await locked.page.locator('[data-testid=login-error]').waitFor()
    }
    const text = await locked.page.locator('[data-testid=login-error]').innerText()
    assert(text.includes('账户已锁定') && /\d{4}/.test(text), `lockout text: ${text}`)
    await shot(locked.page, '16-lockout')
  })
  await locked.close()

  await step('no Content-Security-Policy violations or page errors', async () => {
    const all = allProblems.flat()
    assert(all.length === 0, all.join('\n'))
  })
}

await run(main)
