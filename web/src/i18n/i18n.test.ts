import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import zhCN from './zh-CN'
import en from './en'
import { pages } from '../pages'
import { MODULES } from '../posture'
import { ROLES } from '../api/types'

function keys(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' ? keys(v as Record<string, unknown>, prefix + k + '.') : [prefix + k])
}
function lookup(obj: Record<string, unknown>, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], obj)
}
function placeholders(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
}

describe('i18n', () => {
  const zhKeys = keys(zhCN)
  const enKeys = keys(en)

  it('has the same keys in zh-CN and English', () => {
    expect(enKeys.filter((k) => !zhKeys.includes(k))).toEqual([])
    expect(zhKeys.filter((k) => !enKeys.includes(k))).toEqual([])
  })
  it('has no empty strings and the same placeholders in both languages', () => {
    for (const k of zhKeys) {
      const zh = String(lookup(zhCN, k))
      const e = String(lookup(en, k))
      expect(zh.length, k).toBeGreaterThan(0)
      expect(e.length, k).toBeGreaterThan(0)
      expect(placeholders(e), k).toEqual(placeholders(zh))
    }
  })
  it('covers every page title, role and module', () => {
    for (const p of pages) expect(zhKeys, p.titleKey).toContain(p.titleKey)
    for (const r of ROLES) expect(zhKeys).toContain('role.' + r)
    for (const m of MODULES) expect(zhKeys).toContain(m.titleKey)
  })
  it('defines every literal key the views use', () => {
    const dir = join(__dirname, '..')
    const files: string[] = []
    const walk = (d: string) => {
      for (const n of readdirSync(d, { withFileTypes: true })) {
        if (n.isDirectory()) walk(join(d, n.name))
        else if (/\.(vue|ts)$/.test(n.name) && !n.name.endsWith('.test.ts')) files.push(join(d, n.name))
      }
    }
    walk(dir)
    const missing: string[] = []
    for (const f of files) {
      const src = readFileSync(f, 'utf8')
      for (const m of src.matchAll(/\bt\('([a-zA-Z]+\.[a-zA-Z.]+)'/g)) if (!zhKeys.includes(m[1])) missing.push(`${f}: ${m[1]}`)
      for (const m of src.matchAll(/titleKey: '([a-zA-Z.]+)'/g)) if (!zhKeys.includes(m[1])) missing.push(`${f}: ${m[1]}`)
    }
    expect(missing).toEqual([])
  })
})
