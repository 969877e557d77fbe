// Shared harness for the portal's end-to-end tests (tests/e2e/*.e2e.mjs): a real `medsoc serve`
// on loopback with a temporary data directory, Debian's chromium through playwright-core, steps
// that record pass/fail, and the closing "N passed, M failed" line.
//
//   MEDSOC_BIN   the server binary (default build/debug/medsoc)
//   CHROMIUM     the browser (default /usr/bin/chromium)
//   E2E_PORTAL   the built portal (default web/dist)
//   E2E_OUTPUT   screenshots (default tests/e2e/output)
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const repo = resolve(here, '../../..')
const require = createRequire(join(repo, 'web/package.json'))
const { chromium } = require('playwright-core')

export const BIN = resolve(repo, process.env.MEDSOC_BIN ?? 'build/debug/medsoc')
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
export const OUT = resolve(repo, process.env.E2E_OUTPUT ?? 'tests/e2e/output')
export const PORTAL = resolve(repo, process.env.E2E_PORTAL ?? 'web/dist')

export const results = []
let server, dataDir

export function log(msg) {
  process.stdout.write(msg + '\n')
}

export async function step(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
    results.push({ name, ok: true })
    log(`  ok    ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    results.push({ name, ok: false, error: e })
    log(`  FAIL  ${name}: ${e?.stack ?? e}`)
  }
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg)
}

// ---- the server ----
// Starts the server; `extraConfig` lines are appended to its YAML configuration.
export function startServer(extraConfig = []) {
  dataDir = mkdtempSync(join(tmpdir(), 'medsoc-e2e-'))
  const cfg = join(dataDir, 'medsoc.yaml')
  writeFileSync(cfg, [
    'log:', '  level: warn',
    'auth:', '  argon2_strength: interactive', '  lockout_threshold: 5',
    'server:', '  threads: 2', '  shutdown_grace_seconds: 2', `  portal_dir: ${JSON.stringify(PORTAL)}`, ...extraConfig, '',
  ].join('\n'))
  return new Promise((resolveStart, reject) => {
    const proc = spawn(BIN, ['serve', '--data', join(dataDir, 'data'), '--listen', '127.0.0.1:0', '--config', cfg],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let port = null
    let password = null
    const timer = setTimeout(() => reject(new Error('server did not start in 60 s:\n' + out)), 60_000)
    const onData = (d) => {
      out += d.toString()
      const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)
      if (m) port = Number(m[1])
      const p = out.match(/password: (\S+)/)
      if (p) password = p[1]
      if (port && password && out.includes('This password is shown once')) {
        clearTimeout(timer)
        server = { proc, port, password, base: `http://127.0.0.1:${port}`, dataDir, output: () => out }
        resolveStart(server)
      }
    }
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onData)
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${out}`)) })
  })
}

export async function stopServer() {
  if (!server) return
  const { proc } = server
  if (proc.exitCode === null) {
    proc.removeAllListeners('exit')
    const done = new Promise((r) => proc.on('exit', r))
    proc.kill('SIGTERM')
    const t = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    await done
    clearTimeout(t)
  }
}

// ---- the browser ----
export async function newPage(label) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'medsoc-e2e-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    locale: 'zh-CN',
  })
  const page = context.pages()[0] ?? (await context.newPage())
  const problems = []
  page.on('console', (m) => {
    const text = m.text()
    if (/Content Security Policy|Refused to (execute|load|apply)/i.test(text)) problems.push(`[${label}] CSP: ${text}`)
    // Expected 4xx answers (wrong password, policy error, 403 probes) are logged by chromium; not a fault.
    else if (m.type() === 'error' && !/the server responded with a status of (400|401|403|404|423)/.test(text)) problems.push(`[${label}] console error: ${text}`)
  })
  page.on('pageerror', (e) => problems.push(`[${label}] page error: ${e.message}`))
  return { page, problems, close: async () => { await context.close(); rmSync(userDataDir, { recursive: true, force: true }) } }
}

export async function shot(page, name) {
  await page.waitForTimeout(300)
  await page.screenshot({ path: join(OUT, name + '.png'), fullPage: true })
}

export async function fill(page, testid, value) {
  await page.locator(`[data-testid=${testid}]`).first().fill(value)
}

export async function login(page, base, username, password) {
  await page.goto(base + '/login')
  await fill(page, 'login-username', username)
  await fill(page, 'login-password', password)
  await page.locator('[data-testid=login-submit]').click()
}

export async function forcedChange(page, current, next) {
  await page.waitForURL(/\/password-change/, { timeout: 15_000 })
  await fill(page, 'pw-current', current)
  await fill(page, 'pw-new', next)
  await fill(page, 'pw-confirm', next)
  await page.locator('[data-testid=pw-submit]').click()
  await page.waitForURL((u) => !u.pathname.startsWith('/password-change') && !u.pathname.startsWith('/login'), { timeout: 20_000 })
}

export async function apiStatus(page, path) {
  return page.evaluate(async (p) => (await fetch(p, { credentials: 'same-origin' })).status, path)
}

export async function menuNames(page) {
  return page.locator('[data-testid^=menu-]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')))
}

export async function createUser(page, u, role) {
  await page.locator('[data-testid=user-create]').click()
  await fill(page, 'new-username', u.username)
  await page.locator('[data-testid=new-role]').first().click()
  await page.locator(`[data-testid=new-role-${role}]`).first().click()
  await fill(page, 'new-password', u.initial)
  await page.locator('[data-testid=user-create-submit]').click()
  await page.locator('[data-testid=users-table]').getByText(u.username, { exact: true }).first().waitFor({ timeout: 10_000 })
}

// Checks the binary, portal and browser, runs `main`, stops the server and exits with the
// closing line. `main` receives nothing; it calls startServer itself (so it can pass config).
export async function run(main) {
  let fatal = null
  try {
    if (!existsSync(BIN)) throw new Error(`no server binary at ${BIN} (set MEDSOC_BIN)`)
    if (!existsSync(join(PORTAL, 'index.html'))) throw new Error(`the portal is not built (${PORTAL}); run scripts/web.sh build`)
    if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM} (apt-get install chromium)`)
    mkdirSync(OUT, { recursive: true })
    await main()
  } catch (e) {
    fatal = e
    results.push({ name: 'e2e set-up', ok: false, error: e })
    log(`  FAIL  e2e set-up: ${e?.stack ?? e}`)
  } finally {
    await stopServer()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  }
  const passed = results.filter((r) => r.ok).length
  const failed = results.length - passed
  log(`e2e: screenshots in ${OUT}`)
  log(`${passed} passed, ${failed} failed`)
  process.exit(failed || fatal ? 1 : 0)
}
