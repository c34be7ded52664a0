// Knowledge page: drag-and-drop onto the upload form's file input, and readable errors for htmx requests.
// Listeners sit on the document because htmx replaces the upload card after each upload.
(() => {
  "use strict";
  document.documentElement.classList.add("kb-js");

  const zoneOf = (node) => (node instanceof Element ? node.closest("[data-dropzone]") : null);
  const inputOf = (zone) => zone.querySelector("input[type=file]");

  const size = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${Math.round(n / 1024)} KB` : `${(n / 1048576).toFixed(1)} MB`);

  // Lists what is about to be uploaded; the server still judges every file.
  const showPicked = (zone) => {
    const input = inputOf(zone);
    const list = zone.querySelector(".kb-picked");
    const submit = zone.closest("form").querySelector("button[type=submit]");
    const max = Number(zone.dataset.maxBytes) || Infinity;
    const files = Array.from(input.files);
    let total = 0;
    list.replaceChildren(...files.map((file) => {
      total += file.size;
      const item = document.createElement("li");
      item.textContent = `${file.name} · ${size(file.size)}`;
      return item;
    }));
    if (total > max) {
      const warn = document.createElement("li");
      warn.className = "bad";
      warn.textContent = `Together these are ${size(total)}; one upload can be at most ${size(max)}. Upload fewer files at a time.`;
      list.append(warn);
    }
    zone.classList.toggle("has-files", files.length > 0);
    if (submit) submit.textContent = files.length > 1 ? `Upload ${files.length} files` : "Upload";
  };

  document.addEventListener("change", (event) => {
    const zone = zoneOf(event.target);
    if (zone && event.target === inputOf(zone)) showPicked(zone);
  });

  // dragenter/dragleave also fire for child elements; counting them avoids a flickering highlight.
  let depth = 0;
  document.addEventListener("dragenter", (event) => {
    const zone = zoneOf(event.target);
    if (!zone) return;
    depth += 1;
    zone.classList.add("is-over");
  });
  document.addEventListener("dragleave", (event) => {
    const zone = zoneOf(event.target);
    if (!zone) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove("is-over");
  });
  // Without this, a file dropped next to the zone would open in the tab and lose the page.
  document.addEventListener("dragover", (event) => {
    if (event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files")) event.preventDefault();
  });
  document.addEventListener("drop", (event) => {
    const zone = zoneOf(event.target);
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    if (!zone) return;
    depth = 0;
    zone.classList.remove("is-over");
    const input = inputOf(zone);
    const merged = new DataTransfer();
    const seen = new Set();
    for (const file of [...input.files, ...event.dataTransfer.files]) {
      const key = `${file.name}:${file.size}`;
      if (!seen.has(key)) merged.items.add(file);
      seen.add(key);
    }
    input.files = merged.files;
    showPicked(zone);
  });

  // htmx does not swap error answers; say what happened instead of failing silently.
  const complain = (event, message) => {
    const elt = event.detail.elt;
    const upload = elt.closest("#upload-card");
    const results = elt.closest(".kb-search") ? document.getElementById("search-results") : null;
    if (!upload && !results) return; // a missed poll is retried by the next one
    const box = document.createElement("p");
    box.className = "form-error kb-request-error";
    box.setAttribute("role", "alert");
    box.textContent = message;
    if (results) {
      results.replaceChildren(box);
      return;
    }
    upload.querySelectorAll(".kb-request-error").forEach((old) => old.remove());
    upload.querySelector("form").before(box);
  };
  document.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    const message = status === 413
      ? "The upload is larger than the size limit. Upload fewer or smaller files at a time."
      : status === 403
        ? "You are not allowed to do this, or the page expired. Reload the page and try again."
        : `The server could not finish the request (HTTP ${status}). Try again in a moment.`;
    complain(event, message);
  });
  document.addEventListener("htmx:sendError", (event) => {
    complain(event, "Could not reach the server. Check your connection and try again.");
  });
})();
