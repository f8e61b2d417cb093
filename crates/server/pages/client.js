// The client both pages share: the JSON API and a WebSocket that reconnects by itself,
// resumes each joined ticket with `since` and never hands over an event twice (docs/pages.md).

/** A refused request: `status` and the problem+json body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Calls `/api/v1${path}` with JSON in and out. */
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Posts a message to a ticket: JSON, or multipart when there are files (fields first). */
export async function postMessage(ticketId, content, files, token, onProgress = () => {}) {
  const clientMessageId = newId();
  if (!files?.length) {
    return api("/messages", { method: "POST", token, body: { queryId: ticketId, content, clientMessageId } });
  }
  const form = new FormData();
  form.append("queryId", String(ticketId));
  form.append("content", content);
  form.append("clientMessageId", clientMessageId);
  for (const file of files) form.append("files", file, file.name);
  // XMLHttpRequest rather than fetch: only it reports upload progress.
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/messages");
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(Math.round((100 * e.loaded) / e.total)); };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(100); resolve(data); } else reject(new ApiError(xhr.status, data));
    };
    xhr.onerror = () => reject(new Error("no connection"));
    onProgress(0);
    xhr.send(form);
  });
}

/** Downloads an attachment (served only with the reader's token) and hands it to the browser. */
export async function download(attachment, token) {
  const res = await fetch(attachment.url, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new ApiError(res.status, null);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = attachment.fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Whether `next` is as new as `known` or newer (a replay may bring a ticket's older states). */
export function fresher(next, known) {
  return !known?.updatedAt || Date.parse(next.updatedAt) >= Date.parse(known.updatedAt);
}

/** A fresh id for `clientMessageId`, so a retried send is stored once. */
export function newId() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/**
 * The live connection. Handlers: onEvent(frame), onTyping(frame), onState("online"|"offline"),
 * onReady(frame, resumed), onAuthLost(), onError(problem).
 */
export class Live {
  constructor(token, handlers = {}) {
    this.token = token;
    this.h = handlers;
    this.joined = new Set();
    this.last = new Map(); // ticketId -> last seq seen while joined
    this.seen = new Map(); // ticketId -> every seq of it handed over, across reconnections
    this.attempt = 0;
    this.ws = null;
    this.ready = false;
    this.connections = 0;
    this.stopped = false;
    this.onOnline = () => this.reconnectNow();
    addEventListener("online", this.onOnline);
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    this.ws = ws;
    this.ready = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this.token }));
    ws.onmessage = (m) => {
      if (this.ws !== ws) return;
      let frame;
      try { frame = JSON.parse(m.data); } catch { return; }
      this.frame(frame);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      this.h.onState?.("offline");
      if (e.code === 4401) { this.stopped = true; this.h.onAuthLost?.(); return; }
      this.schedule();
    };
  }

  /** Reconnects after 0.5 s, 1 s, 2 s ... up to 15 s, with jitter; offline, waits for "online". */
  schedule() {
    if (this.stopped || navigator.onLine === false) return;
    const base = Math.min(15000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * base / 2);
  }

  reconnectNow() {
    if (this.ws || this.stopped) return;
    clearTimeout(this.timer);
    this.connect();
  }

  /** Drops the current socket as a lost network would (it then reconnects by itself). */
  drop() {
    this.ws?.close();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    removeEventListener("online", this.onOnline);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
  }

  frame(f) {
    switch (f.type) {
      case "ready": {
        const resumed = this.connections > 0;
        this.connections += 1;
        this.attempt = 0;
        this.ready = true;
        this.h.onState?.("online");
        for (const t of this.joined) this.sendJoin(t);
        this.h.onReady?.(f, resumed);
        break;
      }
      case "event": {
        const seen = this.seen.get(f.ticketId) ?? new Set();
        if (seen.has(f.seq)) return;
        seen.add(f.seq);
        this.seen.set(f.ticketId, seen);
        if (this.joined.has(f.ticketId) && f.seq > (this.last.get(f.ticketId) ?? 0)) {
          this.last.set(f.ticketId, f.seq);
        }
        this.h.onEvent?.(f);
        break;
      }
      case "user_typing":
        this.h.onTyping?.(f);
        break;
      case "file_upload_progress":
        this.h.onUpload?.(f);
        break;
      case "error":
        this.h.onError?.(f.error);
        break;
      default:
        break;
    }
  }

  send(frame) {
    if (this.ws && this.ready) this.ws.send(JSON.stringify(frame));
  }

  sendJoin(ticketId) {
    this.ws?.send(JSON.stringify({ type: "join", ticketId, since: this.last.get(ticketId) ?? 0 }));
  }

  /** Enters a ticket's room; the first join replays its whole history. */
  join(ticketId) {
    this.joined.add(ticketId);
    if (this.ready) this.sendJoin(ticketId);
  }

  /** Leaves a ticket's room; joining it again replays its whole history. */
  leave(ticketId) {
    this.joined.delete(ticketId);
    this.last.delete(ticketId);
    this.seen.delete(ticketId);
    this.send({ type: "leave", ticketId });
  }

  typing(ticketId, isTyping) {
    this.send({ type: "typing", ticketId, isTyping });
  }
}

/**
 * A conversation kept in a list element: messages by id, in id order, each shown once.
 * `mine(message)` tells which side the reader is on; `label(message)` names the sender.
 */
export class Conversation {
  constructor(list, { mine, label, open }) {
    this.list = list;
    this.mine = mine;
    this.label = label;
    this.open = open;
    this.items = new Map(); // message id -> li
    this.messages = new Map(); // message id -> message
  }

  /** The newest message `pick` accepts. */
  latest(pick) {
    const ids = [...this.messages.keys()].sort((a, b) => b - a);
    return this.messages.get(ids.find((id) => pick(this.messages.get(id))));
  }

  clear() {
    this.items.clear();
    this.messages.clear();
    this.list.replaceChildren();
  }

  /** Applies a ticket event; returns true when it changed the list. */
  apply(event, data) {
    if (!data || data.deleted) {
      if (data && (event === "message_deleted" || event === "new_message")) this.remove(data.id);
      return false;
    }
    if (event === "new_message" || event === "message_updated") return this.put(data);
    if (event === "message_deleted") return this.remove(data.id);
    return false;
  }

  put(message) {
    this.messages.set(message.id, message);
    const li = this.items.get(message.id) ?? document.createElement("li");
    const kind = message.senderType === "SYSTEM" ? "system" : this.mine(message) ? "mine" : "theirs";
    li.className = kind;
    li.dataset.id = message.id;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = this.label(message);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.content ?? "";
    li.replaceChildren(who, text);
    for (const a of message.attachments ?? []) {
      const file = document.createElement("button");
      file.type = "button";
      file.className = "file secondary";
      file.textContent = `Download ${a.fileName}`;
      file.addEventListener("click", () => this.open?.(a));
      li.append(file);
    }
    if (!this.items.has(message.id)) {
      this.items.set(message.id, li);
      const after = [...this.items.keys()].filter((id) => id > message.id).sort((a, b) => a - b)[0];
      const stuck = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
      this.list.insertBefore(li, after === undefined ? null : this.items.get(after));
      if (stuck || this.mine(message)) this.list.scrollTop = this.list.scrollHeight;
    }
    return true;
  }

  remove(id) {
    const li = this.items.get(id);
    if (!li) return false;
    li.remove();
    this.items.delete(id);
    this.messages.delete(id);
    return true;
  }
}

/**
 * What the other side is doing, from `user_typing` and `file_upload_progress` frames: each line
 * ("Ada is typing…", "Ada is uploading a.png (40%)") stays for a few seconds after its frame.
 */
export function activity(element) {
  const lines = new Map(); // key -> { text, timer }
  const render = () => { element.textContent = [...lines.values()].map((l) => l.text).join(" · "); };
  const show = (key, text) => {
    clearTimeout(lines.get(key)?.timer);
    if (text) lines.set(key, { text, timer: setTimeout(() => { lines.delete(key); render(); }, 5000) });
    else lines.delete(key);
    render();
  };
  return {
    typing: (f) => show(`t:${f.user?.name}`, f.isTyping ? `${f.user?.name || "Someone"} is typing…` : null),
    upload: (f) => show(`u:${f.uploadId}`, `${f.user?.name || "Someone"} is uploading ${f.fileName} (${f.percent}%)`),
    clear: () => { for (const key of [...lines.keys()]) show(key, null); },
  };
}

/**
 * Wires a message form: Enter sends, typing frames go to `typing(isTyping)`, files ride along
 * with `uploading(uploadId, fileNames, percent)`. `send(content, files, onProgress)` posts and resolves to the message, handed to `onSent`; a failure
 * leaves the text in the box and says so in `error`.
 */
export function composer({ form, box, files, button, error, send, onSent, typing, uploading }) {
  const stopTyping = typingSender(box, typing);
  enterSends(box, button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const content = box.value.trim();
    const chosen = [...files.files];
    if (!content && !chosen.length) return;
    button.disabled = true;
    try {
      const uploadId = newId();
      const names = chosen.map((f) => f.name).join(", ");
      let last = 0;
      // At most about two progress frames a second (the server relays five), and the last one.
      const progress = (percent) => {
        const now = Date.now();
        if (percent === 100 || now - last > 450) { last = now; uploading(uploadId, names, percent); }
      };
      onSent(await send(content, chosen, progress));
      box.value = "";
      files.value = "";
      stopTyping();
      error.textContent = "";
    } catch (err) {
      error.textContent = `Not sent: ${err.message || "no connection"}. Try again.`;
    } finally {
      button.disabled = false;
      box.focus();
    }
  });
}

/** Sends typing frames while a box is being written in: at most one "true" per 2 s. */
function typingSender(box, send) {
  let last = 0;
  let idle;
  box.addEventListener("input", () => {
    const now = Date.now();
    if (now - last > 2000) { last = now; send(true); }
    clearTimeout(idle);
    idle = setTimeout(() => { last = 0; send(false); }, 3000);
  });
  return () => { clearTimeout(idle); if (last) { last = 0; send(false); } };
}

/** Sends a box on Enter (Shift+Enter for a new line). */
function enterSends(box, button) {
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      button.click();
    }
  });
}
