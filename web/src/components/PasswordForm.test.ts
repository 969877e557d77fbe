import { describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { i18n } from '../i18n'
import PasswordForm from './PasswordForm.vue'
import { setFetch } from '../api/client'
import { setPrincipal } from '../session'

// Element Plus puts attributes such as data-testid on the inner <input>.
function input(w: ReturnType<typeof mountForm>, id: string) {
  const direct = w.find(`input[data-testid=${id}]`)
  return direct.exists() ? direct : w.find(`[data-testid=${id}] input`)
}

function mountForm() {
  return mount(PasswordForm, { global: { plugins: [i18n, ElementPlus] } })
}

describe('PasswordForm', () => {
  it('refuses mismatched passwords without calling the server', async () => {
    const f = vi.fn()
    setFetch(f as unknown as typeof fetch)
    const w = mountForm()
    await input(w, 'pw-current').setValue('Old-Passw0rd!!')
    await input(w, 'pw-new').setValue('New-Passw0rd!!')
    await input(w, 'pw-confirm').setValue('New-Passw0rd!?')
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(f).not.toHaveBeenCalled()
    expect(w.find('[data-testid=pw-error]').text()).toContain('两次输入的新密码不一致')
  })

  it('shows the server policy error as is', async () => {
    setPrincipal({ user_id: 'u', username: 'zhang', role: 'viewer', role_name: '', provider_wide: false, home_tenant: 'd', tenant: 'd',
      must_change_password: true, permissions: [], kind: 'session' })
    setFetch(vi.fn(async () => new Response(JSON.stringify({ error: { code: 'invalid_argument', message: 'password policy: 密码长度至少 12 个字符 (at least 12 characters)' } }),
      { status: 400, headers: { 'content-type': 'application/json' } })) as unknown as typeof fetch)
    const w = mountForm()
    await input(w, 'pw-current').setValue('Old-Passw0rd!!')
    await input(w, 'pw-new').setValue('short')
    await input(w, 'pw-confirm').setValue('short')
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid=pw-error]').text()).toContain('at least 12 characters')
    expect(w.emitted('changed')).toBeUndefined()
  })
})
