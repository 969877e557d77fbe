import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/client'
import type { EventDoc } from '../api/types'
import {
  addFilter, annotate, bucketWindow, caretLine, queryErrorColumn, quickWindow, quoteValue, ruleProblems, topValues,
} from './search'
import { attrText, criticality, importFormat } from './assets'
import type { Asset, AssetAttributeSpec } from '../api/types'

describe('query building', () => {
  it('leaves plain values bare and quotes the rest', () => {
    expect(quoteValue('his-db01')).toBe('his-db01')
    expect(quoteValue('10.1.2.3')).toBe('10.1.2.3')
    expect(quoteValue('4625')).toBe('4625')
    expect(quoteValue('Zhang San')).toBe('"Zhang San"')
    expect(quoteValue('2001:db8::1')).toBe('"2001:db8::1"')
    expect(quoteValue('C:\\Windows\\cmd.exe')).toBe('"C:\\\\Windows\\\\cmd.exe"')
    expect(quoteValue('say "hi"')).toBe('"say \\"hi\\""')
    expect(quoteValue('a*b')).toBe('"a*b"')
    expect(quoteValue('OR')).toBe('"OR"')
    expect(quoteValue('')).toBe('""')
  })
  it('ANDs a filter onto the query, keeping a top-level OR together', () => {
    expect(addFilter('', 'user.name', 'root')).toBe('user.name:root')
    expect(addFilter('  failed ', 'user.name', 'root')).toBe('failed AND user.name:root')
    expect(addFilter('a OR b', 'host.name', 'x')).toBe('(a OR b) AND host.name:x')
    expect(addFilter('(a OR b)', 'host.name', 'x')).toBe('(a OR b) AND host.name:x')
    expect(addFilter('a', 'host.name', 'x y', true)).toBe('a AND NOT host.name:"x y"')
    expect(addFilter('a', 'user.name', null)).toBe('a AND user.name:*')
  })
  it('puts the caret under the error column', () => {
    expect(caretLine(1)).toBe('^')
    expect(caretLine(20)).toBe(' '.repeat(19) + '^')
    expect(caretLine(0)).toBe('^')
  })
})

describe('time windows', () => {
  it('turns quick ranges into relative API times', () => {
    expect(quickWindow('15m')).toEqual({ from: 'now-15m', to: 'now' })
    expect(quickWindow('24h')).toEqual({ from: 'now-24h', to: 'now' })
    expect(quickWindow('30d')).toEqual({ from: 'now-30d', to: 'now' })
  })
  it('gives the window of a histogram bucket', () => {
    const times = ['2026-03-01T00:00:00Z', '2026-03-01T00:05:00Z', '2026-03-01T00:10:00Z']
    expect(bucketWindow(times, 0)).toEqual({ from: '2026-03-01T00:00:00.000Z', to: '2026-03-01T00:05:00.000Z' })
    expect(bucketWindow(times, 2)).toEqual({ from: '2026-03-01T00:10:00.000Z', to: '2026-03-01T00:15:00.000Z' })
    expect(bucketWindow(times, 3)).toBeNull()
    expect(bucketWindow(['2026-03-01T00:00:00Z'], 0)).toBeNull()
  })
})

describe('field sidebar values', () => {
  const ev = (fields: Record<string, unknown>, original?: Record<string, unknown>): EventDoc => ({ id: 'x', time: '', fields, original })
  it('counts values over loaded events, arrays once per event, most frequent first', () => {
    const events = [
      ev({ 'user.name': 'root', 'related.ip': ['10.0.0.1', '10.0.0.2', '10.0.0.1'] }),
      ev({ 'user.name': 'root', 'related.ip': ['10.0.0.1'] }),
      ev({ 'user.name': 'zhang', 'event.code': 4625 }, { EventID: 4625 }),
      ev({}),
    ]
    expect(topValues(events, 'user.name', false)).toEqual([{ value: 'root', count: 2 }, { value: 'zhang', count: 1 }])
    expect(topValues(events, 'related.ip', false)).toEqual([{ value: '10.0.0.1', count: 2 }, { value: '10.0.0.2', count: 1 }])
    expect(topValues(events, 'event.code', false)).toEqual([{ value: '4625', count: 1 }])
    expect(topValues(events, 'EventID', true)).toEqual([{ value: '4625', count: 1 }])
    expect(topValues(events, 'EventID', false)).toEqual([])
  })
})

describe('server errors with positions', () => {
  it('reads rule-upload problems and the query column from the error body', () => {
    const problems = [{ line: 8, column: 14, severity: 'error', rule_id: 'abc', reason: "unknown search identifier 'nope'", text: 'upload.yml:8:14: ...' }]
    const e = new ApiError(400, 'invalid_argument', 'the rule has 1 problem(s)', { code: 'invalid_argument', problems })
    expect(ruleProblems(e)).toEqual(problems)
    expect(ruleProblems(new ApiError(403, 'forbidden', 'no'))).toEqual([])
    expect(ruleProblems(new Error('x'))).toEqual([])
    expect(queryErrorColumn(new ApiError(400, 'invalid_argument', 'query:1:20: ...', { column: 20 }))).toBe(20)
    expect(queryErrorColumn(new ApiError(400, 'invalid_argument', 'x'))).toBeNull()
  })
  it('attaches problems to their YAML lines', () => {
    const lines = annotate('a: 1\nb: 2\nc: 3', [{ line: 2, column: 4, severity: 'error', rule_id: '', reason: 'bad', text: '' }])
    expect(lines.map((l) => l.problems.length)).toEqual([0, 1, 0])
    expect(lines[1]).toMatchObject({ n: 2, text: 'b: 2' })
  })
})

describe('asset display', () => {
  const kind: AssetAttributeSpec = { name: 'kind', zh: '资产类型', en: 'Kind', type: 'enum', values: [{ name: 'server', zh: '服务器' }] }
  const at = (value: string | string[]) => ({ value, source: 'import', at: null, by: 'u' })
  const asset = {
    id: 'a1', status: 'active', attributes: { kind: at('server'), ips: at(['10.0.0.1', '10.0.0.2']), integrity: at('4'), availability: at('2') },
  } as unknown as Asset
  it('shows enum values in Chinese and lists joined', () => {
    expect(attrText(asset, 'kind', kind)).toBe('服务器')
    expect(attrText(asset, 'kind', kind, 'en')).toBe('server')
    expect(attrText(asset, 'ips', undefined)).toBe('10.0.0.1, 10.0.0.2')
    expect(attrText(asset, 'zone', undefined)).toBe('')
  })
  it('takes criticality as the highest of C, I and A', () => {
    expect(criticality(asset)).toBe(4)
    expect(criticality({ ...asset, attributes: {} })).toBe(0)
  })
  it('picks the import format from the file name', () => {
    expect(importFormat('台账.CSV')).toBe('csv')
    expect(importFormat('ledger.xlsx')).toBe('xlsx')
    expect(importFormat('ledger.xls')).toBeNull()
  })
})
