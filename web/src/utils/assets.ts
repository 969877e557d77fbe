// Display helpers for the assets ledger (the attribute catalogue: GET /api/v1/asset-attributes).
import type { Asset, AssetAttributeSpec } from '../api/types'

// An attribute as text: lists joined, enum values by their Chinese name (zh-CN) or API name.
export function attrText(a: Asset, name: string, spec: AssetAttributeSpec | undefined, locale = 'zh-CN'): string {
  const v = a.attributes?.[name]?.value
  if (v === undefined || v === null) return ''
  if (Array.isArray(v)) return v.join(', ')
  if (spec?.type === 'enum' && locale !== 'en') return spec.values.find((x) => x.name === v)?.zh ?? v
  return v
}

// The asset's highest protection level of confidentiality, integrity and availability (1-5, GB/T
// 20984); 0 when none is recorded.
export function criticality(a: Asset): number {
  let best = 0
  for (const k of ['confidentiality', 'integrity', 'availability']) {
    const n = Number(a.attributes?.[k]?.value)
    if (Number.isInteger(n) && n > best) best = n
  }
  return best
}

// The import format from a file name, or null when it is neither CSV nor XLSX.
export function importFormat(fileName: string): 'csv' | 'xlsx' | null {
  const lower = fileName.toLowerCase()
  if (lower.endsWith('.csv') || lower.endsWith('.txt')) return 'csv'
  if (lower.endsWith('.xlsx')) return 'xlsx'
  return null
}
