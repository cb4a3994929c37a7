// Starts allauth's WebAuthn forms (static mfa/js/webauthn.js) from data-* attributes.
// allauth's own templates pass their options in inline <script type="application/json">
// blocks read by its onload.js; the portal's pages carry no <script> without src (CSP).
(function () {
  'use strict'

  function start (el) {
    const forms = window.allauth && window.allauth.webauthn && window.allauth.webauthn.forms
    const kind = el.dataset.webauthnForm // addForm | authenticateForm | loginForm
    if (!forms || !forms[kind]) return
    const config = { ids: JSON.parse(el.dataset.webauthnIds) }
    if (el.dataset.webauthnData) config.data = JSON.parse(el.dataset.webauthnData)
    forms[kind](config)
  }

  // allauth reports a refused or failed ceremony with an event; show it on the page.
  document.addEventListener('allauth.error', function (event) {
    const box = document.querySelector('[data-webauthn-error]')
    if (!box) return
    event.preventDefault()
    const error = event.detail && event.detail.exception
    box.textContent = 'The security key did not complete: ' + (error && error.message ? error.message : 'cancelled') + '.'
    box.hidden = false
  })

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-webauthn-form]').forEach(start)
  })
})()
