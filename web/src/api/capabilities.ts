// What the running server offers, from its OpenAPI document (GET /api/v1/openapi.json, public).
// Pages and dashboard cards for modules whose API has not landed yet ask here and show an
// empty state ("尚未接入") instead of failing; when the API lands they light up without changes.
import { reactive } from 'vue'
import { http } from './client'

interface OpenApiOperation {
  'x-permission'?: string
  summary?: string
}
interface OpenApiDoc {
  info?: { version?: string }
  paths?: Record<string, Record<string, OpenApiOperation>>
}

export const capabilities = reactive({
  loaded: false,
  failed: false,
  version: '',
  // "GET /api/v1/users" → x-permission
  operations: {} as Record<string, string>,
})

let pending: Promise<void> | null = null

export function indexOpenApi(doc: OpenApiDoc): Record<string, string> {
  const ops: Record<string, string> = {}
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item ?? {})) {
      if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue
      ops[`${method.toUpperCase()} ${path}`] = op?.['x-permission'] ?? ''
    }
  }
  return ops
}

export function loadCapabilities(force = false): Promise<void> {
  if (pending && !force) return pending
  pending = http
    .get<OpenApiDoc>('/api/v1/openapi.json', { quietUnauthenticated: true })
    .then((doc) => {
      capabilities.operations = indexOpenApi(doc)
      capabilities.version = doc.info?.version ?? ''
      capabilities.loaded = true
      capabilities.failed = false
    })
    .catch(() => {
      capabilities.failed = true
      capabilities.loaded = true
      pending = null
    })
  return pending
}

// "GET /api/v1/incidents" or just a path (GET assumed).
export function hasApi(spec: string): boolean {
  const key = spec.includes(' ') ? spec : `GET ${spec}`
  return key in capabilities.operations
}

// For tests.
export function setCapabilities(ops: Record<string, string>): void {
  capabilities.operations = ops
  capabilities.loaded = true
  capabilities.failed = false
}
