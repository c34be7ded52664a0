/* Playground: posts a question, streams the reply as plain text, then swaps in the stored, server-rendered messages. */
(() => {
  "use strict";
  const root = document.getElementById("playground");
  if (!root) return;
  const log = document.getElementById("pg-log");
  const form = document.getElementById("pg-form");
  const input = document.getElementById("pg-input");
  const send = document.getElementById("pg-send");
  const status = document.getElementById("pg-status");
  const empty = log.querySelector(".pg-empty");
  const base = root.dataset.base;
  const csrf = root.dataset.csrf;
  let conversation = root.dataset.conversation || null;
  let busy = false;

  // Streamed text goes in with textContent only: nothing the model writes is ever parsed as HTML here.
  function bubble(sender, label, text) {
    const article = document.createElement("article");
    article.className = `pg-msg pg-${sender} pg-pending`;
    const head = document.createElement("header");
    head.className = "pg-msg-head";
    const who = document.createElement("span");
    who.className = "pg-who";
    who.textContent = label;
    head.append(who);
    const body = document.createElement("div");
    body.className = "pg-body pg-text";
    body.textContent = text;
    article.append(head, body);
    return article;
  }

  class Problem extends Error {}

  async function problem(response) {
    if (response.status === 401 || response.status === 403) {
      return "Your session expired or this page is out of date. Reload the page and try again.";
    }
    if ((response.headers.get("content-type") || "").includes("application/json")) {
      try {
        const data = await response.json();
        if (data.error && data.error.message) return data.error.message;
      } catch (_) { /* fall through to the generic message */ }
    }
    if (response.redirected) return "Please log in again: reload the page.";
    return `Something went wrong (HTTP ${response.status}). Please try again.`;
  }

  async function ensureConversation() {
    if (conversation) return conversation;
    const response = await fetch(`${base}/conversations`, { method: "POST", headers: { "X-CSRF-Token": csrf } });
    if (response.status !== 201) throw new Problem(await problem(response));
    conversation = (await response.json()).id;
    root.dataset.conversation = conversation;
    // A reload resumes this conversation instead of losing it.
    history.replaceState(null, "", `${base}?c=${encodeURIComponent(conversation)}`);
    return conversation;
  }

  async function* events(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        yield { event, data: data ? JSON.parse(data) : {} };
      }
    }
  }

  async function storedMessages(id, afterSeq) {
    const response = await fetch(`${base}/conversations/${encodeURIComponent(id)}/messages?after=${afterSeq}`);
    if (!response.ok) throw new Error(await problem(response));
    // Rendered and escaped by the server (Jinja autoescape, markdown-it with HTML off).
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    return template.content;
  }

  function setBusy(on) {
    busy = on;
    send.disabled = on;
    if (on) send.setAttribute("aria-busy", "true");
    else send.removeAttribute("aria-busy");
  }

  async function ask(question) {
    const text = (question || "").trim();
    if (busy) return;
    if (!text) {
      status.textContent = "Type a question first.";
      input.focus();
      return;
    }
    setBusy(true);
    if (empty) empty.hidden = true;
    const turn = document.createElement("div");
    turn.className = "pg-turn";
    const reply = bubble("bot", "Assistant", "");
    const replyBody = reply.querySelector(".pg-body");
    replyBody.classList.add("pg-streaming");
    turn.append(bubble("customer", "Customer", text), reply);
    log.append(turn);
    input.value = "";
    status.textContent = "The assistant is answering…";
    let streaming = false;
    try {
      const id = await ensureConversation();
      const response = await fetch(`${base}/conversations/${encodeURIComponent(id)}/messages`, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, Accept: "text/event-stream" },
        body: new URLSearchParams({ content: text }),
      });
      if (!response.ok || !(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
        throw new Problem(await problem(response));
      }
      streaming = true;
      let done = null;
      for await (const event of events(response)) {
        if (event.event === "token") {
          replyBody.textContent += event.data.text;
          reply.scrollIntoView({ block: "nearest" });
        } else if (event.event === "done") {
          done = event.data;
        } else if (event.event === "error") {
          throw new Error((event.data.error && event.data.error.message) || "The answer failed. Please try again.");
        }
      }
      if (!done) throw new Error("The answer stopped before it was complete. Please try again.");
      turn.replaceWith(await storedMessages(id, done.customer_message.seq - 1));
      status.textContent = done.message
        ? "Answer ready."
        : "Staff handle this conversation, so the assistant stays silent.";
      const last = log.querySelector(".pg-msg:last-of-type");
      if (last) last.scrollIntoView({ block: "nearest" });
    } catch (err) {
      if (!streaming) {
        // Nothing was stored: put the question back so it can be fixed and sent again.
        turn.remove();
        input.value = text;
        if (empty && !log.querySelector(".pg-msg")) empty.hidden = false;
      } else {
        reply.classList.add("pg-failed");
        replyBody.classList.remove("pg-streaming");
        replyBody.textContent = err.message;
      }
      status.textContent = err.message;
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask(input.value);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ask(input.value);
    }
  });
  // Thumbs up / down (and a reason on down): stored like a customer's, the message redrawn by the server.
  async function rate(button) {
    const box = button.closest(".pg-feedback");
    const article = button.closest(".pg-msg");
    const body = new URLSearchParams({
      message_id: box.dataset.message,
      helpful: button.dataset.helpful,
      reason: button.dataset.reason || "",
    });
    try {
      const response = await fetch(`${base}/conversations/${encodeURIComponent(conversation)}/feedback`, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf },
        body,
      });
      if (!response.ok) throw new Error(await problem(response));
      const template = document.createElement("template");
      template.innerHTML = await response.text(); // rendered and escaped by the server
      const fresh = template.content.querySelector(".pg-msg");
      if (fresh) {
        const details = article.querySelector(".pg-details");
        const freshDetails = fresh.querySelector(".pg-details");
        if (details && freshDetails) freshDetails.open = details.open;
        article.replaceWith(fresh);
      }
      status.textContent = button.dataset.helpful === "true" ? "Marked helpful." : "Marked not helpful.";
    } catch (err) {
      status.textContent = err.message;
    }
  }

  log.addEventListener("click", (event) => {
    const fb = event.target.closest(".pg-fb");
    if (fb && conversation) rate(fb);
    const chip = event.target.closest(".pg-chip");
    if (chip) ask(chip.dataset.suggestion);
    const cite = event.target.closest(".pg-cite");
    if (cite) {
      // Also open the details panel so the cited passage's scores are in view.
      const details = cite.closest(".pg-msg").querySelector(".pg-details");
      if (details) details.open = true;
    }
  });
})();
