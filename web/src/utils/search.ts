// Logic behind the event search, assets ledger and rules pages, kept out of the views so it can be
// unit-tested: building query-language filters (docs/search.md), time windows, the caret under a
// query error's column, value counts for the field sidebar, and rule-upload problems.
import { ApiError } from '../api/client'
import type { EventDoc, RuleProblem } from '../api/types'

// ---- query language ----

// Characters that end a bare value or mean something in the query language.
const SPECIAL = /[\s:()[\]{}"\\*?<>=!,]/
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'TO'])

// A value as a query term: bare when it is a plain word or number, else quoted with \ escapes
// (inside quotes * and ? are literal, so a value with them matches only itself).
export function quoteValue(value: string): string {
  if (value !== '' && !SPECIAL.test(value) && !KEYWORDS.has(value)) return value
  return '"' + value.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'
}

// `field:value` (or `NOT field:value`) AND-ed onto the query; an empty query becomes the term.
export function addFilter(query: string, field: string, value: string | null, negate = false): string {
  const term = (negate ? 'NOT ' : '') + field + ':' + (value === null ? '*' : quoteValue(value))
  const q = query.trim()
  if (!q) return term
  // A top-level OR would bind looser than the new AND: keep the user's query together.
  const wrapped = /\bOR\b/.test(q) && !(q.startsWith('(') && q.endsWith(')')) ? `(${q})` : q
  return `${wrapped} AND ${term}`
}

// The line under the query with a caret at a 1-based column counted in characters (code points),
// as the server counts them.
export function caretLine(column: number): string {
  return ' '.repeat(Math.max(0, column - 1)) + '^'
}

// ---- time windows ----

export const QUICK_RANGES = ['15m', '1h', '24h', '7d', '30d'] as const
export type QuickRange = (typeof QUICK_RANGES)[number]

export interface TimeWindow {
  from?: string
  to?: string
}

// A quick range as the API's relative times (the server resolves `now`).
export function quickWindow(r: QuickRange): TimeWindow {
  const m = r.match(/^(\d+)([mhd])$/)!
  const n = Number(m[1])
  // The server's units are s m h d w; hours beyond a day read better as hours anyway.
  return { from: `now-${n}${m[2]}`, to: 'now' }
}

// The window of one histogram bucket: from its start to the next bucket's start (or start + the
// step between the first two buckets for the last one).
export function bucketWindow(times: string[], index: number): TimeWindow | null {
  if (index < 0 || index >= times.length) return null
  const start = new Date(times[index]).getTime()
  let end: number
  if (index + 1 < times.length) end = new Date(times[index + 1]).getTime()
  else if (times.length >= 2) end = start + (new Date(times[1]).getTime() - new Date(times[0]).getTime())
  else return null
  if (!(end > start)) return null
  return { from: new Date(start).toISOString(), to: new Date(end).toISOString() }
}

// ---- events ----

export function fieldValue(e: EventDoc, name: string, original: boolean): unknown {
  const space = original ? e.original : e.fields
  return space ? space[name] : undefined
}

export function valueText(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

// The most frequent values of a field among loaded events (arrays count each element once).
export function topValues(events: EventDoc[], name: string, original: boolean, limit = 10): { value: string; count: number }[] {
  const counts = new Map<string, number>()
  for (const e of events) {
    const v = fieldValue(e, name, original)
    if (v === undefined || v === null) continue
    const values = Array.isArray(v) ? new Set(v.map(valueText)) : [valueText(v)]
    for (const s of values) counts.set(s, (counts.get(s) ?? 0) + 1)
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([value, count]) => ({ value, count }))
}

// Sorted [name, text] pairs of one field space, for the expanded row.
export function fieldRows(space: Record<string, unknown> | undefined): { name: string; value: string }[] {
  if (!space) return []
  return Object.keys(space)
    .sort()
    .map((name) => ({ name, value: valueText(space[name]) }))
}

// The one-line summary of an event in the results table.
export function eventSummary(e: EventDoc): string {
  const f = e.fields ?? {}
  const msg = f['message']
  if (typeof msg === 'string' && msg) return msg
  return e.raw ?? ''
}

// ---- rules ----

// The positions of a refused rule upload (400 with error.problems), or [] for other errors.
export function ruleProblems(e: unknown): RuleProblem[] {
  if (!(e instanceof ApiError)) return []
  const list = e.details?.problems
  if (!Array.isArray(list)) return []
  return list.filter((p): p is RuleProblem => !!p && typeof p === 'object' && typeof (p as RuleProblem).line === 'number')
}

// The query error's column (400 with error.column), if any.
export function queryErrorColumn(e: unknown): number | null {
  if (!(e instanceof ApiError)) return null
  const c = e.details?.column
  return typeof c === 'number' && c > 0 ? c : null
}

// Lines of a YAML text with the problems attached to their line (for the upload dialog).
export function annotate(yaml: string, problems: RuleProblem[]): { n: number; text: string; problems: RuleProblem[] }[] {
  const lines = yaml.split(/\r?\n/)
  return lines.map((text, i) => ({ n: i + 1, text, problems: problems.filter((p) => p.line === i + 1) }))
}
