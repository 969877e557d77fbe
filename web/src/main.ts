import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import 'element-plus/theme-chalk/dark/css-vars.css'
import './styles/main.css'
import App from './App.vue'
import { i18n } from './i18n'
import { createPortalRouter } from './router'
import { setClientHandlers } from './api/client'
import { setPrincipal, session } from './session'

const router = createPortalRouter()

// A 401 anywhere means the session ended (idle timeout, logout elsewhere, disabled account):
// forget the principal and go to the login page, coming back here afterwards.
setClientHandlers({
  onUnauthenticated: () => {
    if (!session.principal) return
    setPrincipal(null)
    const here = router.currentRoute.value
    if (here.name !== 'login') router.push({ name: 'login', query: { redirect: here.fullPath, expired: '1' } })
  },
  onPasswordChangeRequired: () => {
    if (session.principal) session.principal.must_change_password = true
    const here = router.currentRoute.value
    if (here.name !== 'password-change') router.push({ name: 'password-change', query: { redirect: here.fullPath } })
  },
})

document.documentElement.lang = i18n.global.locale.value
createApp(App).use(i18n).use(router).use(ElementPlus).mount('#app')
