// Tickets pages: keyboard shortcuts for the approve flow (j/k, e, a, r, u, ?) and confirmations before a
// reply leaves. Keys are ignored while typing in a text box (Esc leaves it) and with modifier keys held.
(() => {
  "use strict";
  const help = document.getElementById("tk-help");
  const rows = Array.from(document.querySelectorAll("[data-queue] tbody tr[data-href]"));
  let current = -1;

  function typing(target) {
    if (!(target instanceof Element)) return false;
    return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
  }

  function showHelp() {
    if (help && !help.open) help.showModal();
  }

  function select(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("tk-selected", i === current));
    rows[current].scrollIntoView({ block: "nearest" });
    const link = rows[current].querySelector("a");
    if (link) link.focus({ preventScroll: true });
  }

  function follow(key) {
    const link = document.querySelector(`a[data-key="${key}"]`);
    if (link) window.location.assign(link.href);
  }

  // Ask before anything is sent to a customer, whether by click, Enter or the "a" key.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const submitter = event.submitter;
    if (submitter && (submitter.name === "note" || "noConfirm" in submitter.dataset)) return;
    const message = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (help && help.open) return;
    const key = event.key;
    if (key === "?") {
      event.preventDefault();
      showHelp();
    } else if ((key === "j" || key === "k") && rows.length) {
      event.preventDefault();
      select(current + (key === "j" ? 1 : -1));
    } else if ((key === "Enter" || key === "o") && rows.length && current >= 0) {
      event.preventDefault();
      window.location.assign(rows[current].dataset.href);
    } else if (key === "j" || key === "k" || key === "u") {
      event.preventDefault();
      follow(key);
    } else if (key === "e" || key === "r") {
      const field = document.querySelector(`[data-key-target="${key}"]`);
      if (field) {
        event.preventDefault();
        field.focus();
        if (key === "e" && field.setSelectionRange) field.setSelectionRange(field.value.length, field.value.length);
      }
    } else if (key === "a") {
      const button = document.querySelector('[data-key-submit="a"]');
      if (button) {
        event.preventDefault();
        button.form.requestSubmit(button);
      }
    }
  });

  document.querySelectorAll("[data-shortcut-help]").forEach((b) => b.addEventListener("click", showHelp));
  document.querySelectorAll("[data-close-help]").forEach((b) => b.addEventListener("click", () => help.close()));
})();
