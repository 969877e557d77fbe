import { describe, expect, it } from 'vitest'
import { generatePassword, passwordChangeProblems, validTenantId, validTenantName, validTokenName, validUsername } from './validation'
import { lockoutTimeFrom } from './format'
import { accountStats, countFrom, tokenStats } from '../posture'

describe('form validation', () => {
  it('checks usernames like the server', () => {
    expect(validUsername('zhang.wei')).toBe(true)
    expect(validUsername('li_na-2@hosp')).toBe(true)
    expect(validUsername('a')).toBe(false)
    expect(validUsername('has space')).toBe(false)
    expect(validUsername('张伟')).toBe(false)
    expect(validUsername('x'.repeat(65))).toBe(false)
  })
  it('checks tenant ids and names', () => {
    expect(validTenantId('cancer-hospital-1')).toBe(true)
    expect(validTenantId('-bad')).toBe(false)
    expect(validTenantId('Upper')).toBe(false)
    expect(validTenantId('x'.repeat(64))).toBe(false)
    expect(validTenantName('肿瘤医院')).toBe(true)
    expect(validTenantName('  ')).toBe(false)
  })
  it('checks token names', () => {
    expect(validTokenName('syslog-collector')).toBe(true)
    expect(validTokenName('')).toBe(false)
    expect(validTokenName('x'.repeat(129))).toBe(false)
  })
  it('finds password-change form problems', () => {
    expect(passwordChangeProblems('', '', '')).toEqual(['required'])
    expect(passwordChangeProblems('old', 'New-Passw0rd!!', 'New-Passw0rd!?')).toEqual(['mismatch'])
    expect(passwordChangeProblems('Same-Passw0rd!', 'Same-Passw0rd!', 'Same-Passw0rd!')).toEqual(['sameAsCurrent'])
    expect(passwordChangeProblems('old', 'New-Passw0rd!!', 'New-Passw0rd!!')).toEqual([])
  })
  it('generates passwords that satisfy the default policy', () => {
    for (let i = 0; i < 50; i++) {
      const p = generatePassword()
      expect(p).toHaveLength(16)
      expect(/[a-z]/.test(p) && /[A-Z]/.test(p) && /[0-9]/.test(p) && /[^A-Za-z0-9]/.test(p)).toBe(true)
    }
    expect(generatePassword()).not.toBe(generatePassword())
  })
  it('reads the lockout time from the server message', () => {
    expect(lockoutTimeFrom('账户已锁定，请于 2026-11-21T08:30:00Z 后重试 (account locked until 2026-11-21T08:30:00Z)')).toBe('2026-11-21T08:30:00Z')
    expect(lockoutTimeFrom('no time')).toBeNull()
  })
})

describe('posture figures', () => {
  it('counts list responses honestly', () => {
    expect(countFrom({ items: [{}, {}], total: 57 })).toEqual({ count: 57, atLeast: false })
    expect(countFrom({ items: [{}, {}], next_before: 3 })).toEqual({ count: 2, atLeast: true })
    expect(countFrom({ items: [] })).toEqual({ count: 0, atLeast: false })
  })
  it('summarises accounts and tokens', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    const u = (o: object) => ({ id: 'i', tenant: 'd', username: 'u', display_name: '', role: 'viewer' as const, provider_wide: false, disabled: false,
      must_change_password: false, locked_until: null, password_changed_at: null, created_at: null, last_login_at: '2025-12-01T00:00:00Z', ...o })
    const s = accountStats([u({}), u({ role: 'auditor', disabled: true }), u({ locked_until: '2026-01-01T01:00:00Z', last_login_at: null, must_change_password: true })], now)
    expect(s).toEqual({ total: 3, locked: 1, disabled: 1, pending: 1, neverLogged: 1, byRole: { viewer: 2, auditor: 1 } })
    const tk = (o: object) => ({ id: 'i', tenant: 'd', name: 'n', role: 'sysadmin', scopes: [], created_by: 'a', created_at: null,
      expires_at: '2026-06-01T00:00:00Z', revoked_at: null, last_used_at: null, ...o })
    expect(tokenStats([tk({}), tk({ expires_at: '2026-01-05T00:00:00Z' }), tk({ revoked_at: '2025-12-01T00:00:00Z' }), tk({ expires_at: '2025-12-30T00:00:00Z' })], now))
      .toEqual({ active: 2, expiring: 1, inactive: 2 })
  })
})
