// Client-side checks that mirror the server's rules, so that a form says what is wrong before
// submitting. The server stays authoritative: its error message is shown when it disagrees.

export const USERNAME_RE = /^[A-Za-z0-9._@-]{2,64}$/
export const TENANT_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/

export function validUsername(s: string): boolean {
  return USERNAME_RE.test(s)
}

export function validTenantId(s: string): boolean {
  return TENANT_ID_RE.test(s)
}

export function validTenantName(s: string): boolean {
  const n = new TextEncoder().encode(s.trim()).length
  return n >= 1 && n <= 256
}

export function validTokenName(s: string): boolean {
  const n = [...s].length
  return s.trim().length > 0 && n <= 128
}

export type PasswordProblem = 'required' | 'mismatch' | 'sameAsCurrent'

// Problems with a password-change form (policy strength is the server's call).
export function passwordChangeProblems(current: string, next: string, confirm: string): PasswordProblem[] {
  const out: PasswordProblem[] = []
  if (!current || !next || !confirm) out.push('required')
  if (next && confirm && next !== confirm) out.push('mismatch')
  if (current && next && current === next) out.push('sameAsCurrent')
  return out
}

// A random password that satisfies the default policy (16 characters, all four classes), for an
// administrator to hand over; the user must change it at first login.
export function generatePassword(length = 16): string {
  const sets = ['abcdefghijkmnopqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '!@#$%^&*-_=+?']
  const all = sets.join('')
  const rnd = new Uint32Array(length * 2)
  crypto.getRandomValues(rnd)
  const chars = sets.map((s, i) => s[rnd[i] % s.length])
  for (let i = chars.length; i < length; i++) chars.push(all[rnd[i] % all.length])
  for (let i = chars.length - 1; i > 0; i--) {
    const j = rnd[length + i] % (i + 1)
    ;[chars[i], chars[j]] = [chars[j], chars[i]]
  }
  return chars.join('')
}
