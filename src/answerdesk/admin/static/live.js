// Live chats page: one EventSource for the organization's chat events keeps the list and the open transcript
// current; messages arriving live are rendered as text (never HTML).
(() => {
  "use strict";
  const root = document.getElementById("live");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const LABELS = { customer: "Customer", bot: "Assistant", staff: "Staff", system: "System", note: "Internal note" };
  let listTimer = null;
  let typingTimer = null;
  let customerTyping = { id: "", until: 0 };  // survives the pane being redrawn
  let lastTypingSent = 0;
  let seenSent = 0;

  const pane = () => document.querySelector("#live-pane .live-conv");
  const openId = () => (pane() ? pane().dataset.id : "");

  function post(url, fields) {
    const body = new URLSearchParams(fields || {});
    return fetch(url, { method: "POST", body, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
  }

  function refreshList() {
    clearTimeout(listTimer);
    listTimer = setTimeout(() => {
      const params = new URLSearchParams(new FormData(document.getElementById("live-filters")));
      if (openId()) params.set("c", openId());
      htmx.ajax("GET", "/admin/live/list?" + params.toString(), { target: "#live-list", swap: "innerHTML" });
    }, 150);
  }

  function lastSeq() {
    const items = document.querySelectorAll("#live-messages > li[data-seq]");
    return items.length ? Number(items[items.length - 1].dataset.seq) : 0;
  }

  function appendMessage(m) {
    const list = document.getElementById("live-messages");
    if (!list || document.getElementById("lm-" + m.seq)) return;
    const li = document.createElement("li");
    li.className = "pg-msg pg-" + m.sender;
    li.id = "lm-" + m.seq;
    li.dataset.seq = m.seq;
    li.dataset.testid = "live-message";
    li.setAttribute("data-testid", "live-message");
    const head = document.createElement("header");
    head.className = "pg-msg-head";
    const who = document.createElement("span");
    who.className = "pg-who";
    who.textContent = LABELS[m.sender] || m.sender;
    const time = document.createElement("time");
    time.className = "small muted";
    time.textContent = new Date(m.created_at).toTimeString().slice(0, 5);
    head.append(who, " ", time);
    const pane = list.closest(".live-conv");
    if (m.sender === "customer" && m.language && pane && m.language !== pane.dataset.language) {
      // The customer wrote this one in another language than the conversation's: worth a glance.
      const lang = document.createElement("span");
      lang.className = "badge lang";
      lang.textContent = m.language.toUpperCase();
      head.append(" ", lang);
    }
    const body = document.createElement("div");
    body.className = "pg-body pg-text";
    body.textContent = m.content;
    li.append(head, body);
    // Keep seq order even if events arrive out of order.
    const after = [...list.children].find((el) => Number(el.dataset.seq) > m.seq);
    list.insertBefore(li, after || null);
    list.scrollTop = list.scrollHeight;
    if (m.sender === "customer") {
      customerTyping = { id: "", until: 0 };
      showTyping();
      markSeen(m.seq);
    }
  }

  function markSeen(seq) {
    if (document.visibilityState !== "visible" || seq <= seenSent || !openId()) return;
    seenSent = seq;
    post("/admin/live/" + openId() + "/seen", { seq: String(seq) });
  }

  async function catchUp() {
    const id = openId();
    if (!id) return;
    const r = await fetch("/admin/live/" + id + "/messages?after=" + lastSeq(), { credentials: "same-origin" });
    if (r.ok && id === openId()) (await r.json()).forEach(appendMessage);
  }

  const events = new EventSource("/admin/live/events");
  events.addEventListener("open", () => { refreshList(); catchUp(); });
  events.addEventListener("message", (e) => {
    const d = JSON.parse(e.data);
    refreshList();
    if (d.conversation_id === openId()) appendMessage(d.message);
  });
  events.addEventListener("conversation", (e) => {
    const d = JSON.parse(e.data);
    refreshList();
    const p = pane();
    // Another member changed this conversation's state: redraw the pane (the reply box is kept if typed in).
    if (p && d.conversation_id === p.dataset.id && d.conversation.status !== p.dataset.status) {
      const text = document.getElementById("live-text");
      if (!text || !text.value) htmx.ajax("GET", "/admin/live/" + p.dataset.id, { target: "#live-pane" });
    }
  });
  function showTyping() {
    const t = document.getElementById("live-typing");
    if (!t) return;
    const left = customerTyping.id === openId() ? customerTyping.until - Date.now() : 0;
    t.hidden = left <= 0;
    clearTimeout(typingTimer);
    if (left > 0) typingTimer = setTimeout(showTyping, left);
  }
  events.addEventListener("typing", (e) => {
    const d = JSON.parse(e.data);
    if (d.side !== "customer") return;
    customerTyping = { id: d.conversation_id, until: d.typing ? Date.now() + 6000 : 0 };
    showTyping();
  });
  events.addEventListener("seen", (e) => {
    const d = JSON.parse(e.data);
    if (d.conversation_id !== openId() || d.side !== "customer") return;
    const s = document.getElementById("live-seen");
    if (s) s.textContent = "Seen by the customer up to #" + d.seq;
  });

  // A redraw of the pane (another member's action, a status event) must not wipe a reply being typed:
  // whatever is in the box is put back, unless this swap is the answer to sending that very text.
  let kept = { id: "", text: "" };
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.target.id !== "live-pane") return;
    const text = document.getElementById("live-text");
    const from = e.detail.requestConfig && e.detail.requestConfig.elt;
    const sending = from && from.closest && from.closest("#live-reply");
    kept = { id: openId(), text: text && !sending ? text.value : "" };
  });

  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target.id !== "live-pane") return;
    const box = document.getElementById("live-text");
    if (box && !box.value && kept.text && kept.id === openId()) box.value = kept.text;
    kept = { id: "", text: "" };
    seenSent = lastSeq();
    const list = document.getElementById("live-messages");
    if (list) list.scrollTop = list.scrollHeight;
    document.querySelectorAll(".live-row").forEach((row) => row.classList.toggle("live-open", row.dataset.id === openId()));
    const text = document.getElementById("live-text");
    if (text) text.focus();
    showTyping();
  });

  document.addEventListener("keydown", (e) => {
    if (e.target.id === "live-text" && e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      if (e.target.value.trim()) htmx.trigger(document.getElementById("live-reply"), "submit");
    }
  });
  document.addEventListener("input", (e) => {
    if (e.target.id !== "live-text" || !openId()) return;
    const now = Date.now();
    if (now - lastTypingSent > 2500) {
      lastTypingSent = now;
      post("/admin/live/" + openId() + "/typing", { typing: "1" });
    }
  });
  document.addEventListener("visibilitychange", () => markSeen(lastSeq()));
})();
