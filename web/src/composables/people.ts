// Names for user ids on the incident pages (owner, watchers, timeline actors) and the people an
// incident can be assigned to: the signed-in user, the duty roster around now (incidents.read:
// analysts see who is on shift) and, for roles that may list accounts (users.read), every user.
// An id nobody can name is shown as is.
import { reactive } from 'vue'
import { triageApi, usersApi } from '../api/endpoints'
import { can, session } from '../session'

export interface Person {
  id: string
  name: string
  onDuty: boolean
}

export const people = reactive({ byId: {} as Record<string, Person>, loaded: false })

let pending: Promise<void> | null = null
let pendingFor = ''

export function loadPeople(force = false): Promise<void> {
  const who = `${session.principal?.user_id ?? ''}@${session.principal?.tenant ?? ''}`
  if (pending && !force && pendingFor === who) return pending
  pendingFor = who
  pending = (async () => {
    const map: Record<string, Person> = {}
    const me = session.principal
    if (me) map[me.user_id] = { id: me.user_id, name: me.username, onDuty: false }
    const now = Date.now()
    const jobs: Promise<unknown>[] = []
    if (can('users.read'))
      jobs.push(usersApi.list().then((r) => {
        for (const u of r.items) map[u.id] = { id: u.id, name: u.display_name || u.username, onDuty: map[u.id]?.onDuty ?? false }
      }).catch(() => undefined))
    if (can('incidents.read'))
      jobs.push(triageApi.shifts(new Date(now - 7 * 86400_000).toISOString(), new Date(now + 7 * 86400_000).toISOString()).then((r) => {
        for (const s of r.items) {
          const onDuty = !!s.starts_at && !!s.ends_at && Date.parse(s.starts_at) <= now && now < Date.parse(s.ends_at)
          const prev = map[s.user_id]
          map[s.user_id] = { id: s.user_id, name: prev?.name && prev.name !== s.user_id ? prev.name : s.display || s.user_id, onDuty: onDuty || !!prev?.onDuty }
        }
      }).catch(() => undefined))
    await Promise.all(jobs)
    people.byId = map
    people.loaded = true
  })()
  return pending
}

export function personName(id: string | null | undefined): string {
  if (!id) return ''
  return people.byId[id]?.name ?? id
}

export function assignable(): Person[] {
  return Object.values(people.byId).sort((a, b) => Number(b.onDuty) - Number(a.onDuty) || a.name.localeCompare(b.name))
}
