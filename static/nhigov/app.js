// Small progressive enhancements; every page works without them. No inline scripts.
(function () {
  "use strict";
  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  function bindSelectAll(root) {
    root.querySelectorAll("[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        document.querySelectorAll("input[name='selected']").forEach(function (row) {
          row.checked = box.checked;
        });
        updateSelectedCount();
      });
    });
    root.querySelectorAll("input[name='selected']").forEach(function (row) {
      row.addEventListener("change", updateSelectedCount);
    });
  }
  function updateSelectedCount() {
    var n = document.querySelectorAll("input[name='selected']:checked").length;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = n; });
  }
  function bindAutoSubmit(root) {
    root.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.requestSubmit(); });
    });
  }
  function bindConfirm(root) {
    root.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        if (!window.confirm(el.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
  }
  // Filter forms drop empty fields so URLs stay short and shareable.
  function dropEmpty(formData) {
    Array.from(formData.keys()).forEach(function (key) {
      var kept = formData.getAll(key).filter(function (v) { return String(v).trim() !== ""; });
      formData.delete(key);
      kept.forEach(function (v) { formData.append(key, v); });
    });
  }
  function bindAll(root) { bindSelectAll(root); bindAutoSubmit(root); bindConfirm(root); updateSelectedCount(); }
  onReady(function () {
    bindAll(document);
    document.body.addEventListener("htmx:afterSwap", function (ev) { bindAll(ev.target); });
    document.addEventListener("formdata", function (ev) {
      if (ev.target.method === "get") dropEmpty(ev.formData);
    });
    document.body.addEventListener("htmx:configRequest", function (ev) {
      if (ev.detail.verb !== "get") return;
      var params = ev.detail.formData || ev.detail.parameters;
      if (params && typeof params.keys === "function") dropEmpty(params);
    });
  });
})();
