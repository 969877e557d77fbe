// Times from the API are RFC 3339 UTC; the portal shows them in the browser's local time.
export function formatTime(iso: string | null | undefined, locale = 'zh-CN'): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(locale === 'en' ? 'en-GB' : 'zh-CN', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  })
}

// A Date (local, from a date picker) as RFC 3339 UTC for the API.
export function toRfc3339(d: Date | null | undefined): string | undefined {
  if (!d) return undefined
  return d.toISOString()
}

// Pulls the time out of a lockout message: "账户已锁定，请于 2026-11-21 08:30:00 后重试 (account locked until ...)".
export function lockoutTimeFrom(message: string): string | null {
  const m = message.match(/(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?Z?)/)
  return m ? m[1] : null
}
