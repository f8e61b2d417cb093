// The staff console: sign in, the live queue, a ticket's conversation and its actions.
import { api, ApiError, Live, Conversation, postMessage, download, activity, composer, fresher } from "./client.js";

const KEY = "concierge.staff";
const $ = (id) => document.getElementById(id);
let auth = null; // { token, user }
let live = null;
let current = null; // the open ticket
const queue = new Map(); // ticket id -> ticket
const names = new Map(); // staff id -> name, from the transfer list
const states = new Map(); // ticket id -> its newest state seen, whatever the filter

const conversation = new Conversation($("conversation"), {
  open: (a) => download(a, auth.token).catch((e) => { $("ticket-error").textContent = `Cannot download ${a.fileName}: ${e.message}`; }),
  mine: (m) => m.senderType === "STAFF",
  label: (m) => (m.senderType === "DONOR" ? current?.donor || "Donor" : m.senderType === "SYSTEM" ? "Note" : m.sender?.name || "Staff"),
});
const doing = activity($("typing"));
const human = (s) => (s || "").replace(/_/g, " ").toLowerCase();

async function call(path, options = {}) {
  try {
    return await api(path, { ...options, token: auth?.token });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signOut();
    throw e;
  }
}

// --- search (docs/search.md) ---

/** The snippet as text, with `<mark>` around each highlight (offsets count characters). */
function marked(snippet, highlights) {
  const chars = [...snippet];
  const out = document.createDocumentFragment();
  let at = 0;
  for (const [start, end] of highlights) {
    if (start < at || end <= start) continue;
    out.append(chars.slice(at, start).join(""));
    const mark = document.createElement("mark");
    mark.textContent = chars.slice(start, end).join("");
    out.append(mark);
    at = end;
  }
  out.append(chars.slice(at).join(""));
  return out;
}

async function search(q) {
  const list = $("search-results");
  $("search-error").textContent = "";
  const page = await call(`/search?q=${encodeURIComponent(q)}&limit=20`);
  list.replaceChildren(...page.data.map((hit) => {
    const button = document.createElement("button");
    button.type = "button";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = `#${hit.ticketId} ${hit.title}`;
    const snippet = document.createElement("span");
    snippet.className = "muted";
    snippet.append(marked(hit.snippet, hit.highlights));
    button.append(title, snippet);
    button.addEventListener("click", () => openTicket(hit.ticketId));
    const item = document.createElement("li");
    item.append(button);
    return item;
  }));
  $("search-count").textContent = page.data.length ? `${page.data.length}${page.hasMore ? "+" : ""} found` : "Nothing found.";
}

// --- the queue ---

function matches(ticket) {
  const wanted = $("filter").value;
  if (ticket.channel && ticket.channel !== "DONOR") return false;
  return wanted ? ticket.status === wanted : !["RESOLVED", "CLOSED"].includes(ticket.status);
}

function renderQueue() {
  const list = $("queue");
  const tickets = [...queue.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id);
  list.replaceChildren(
    ...tickets.map((t) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.id = t.id;
      b.setAttribute("aria-current", String(current?.id === t.id));
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = `#${t.id} ${t.donor ? `${t.donor}: ` : ""}${t.title}`;
      const meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = `${human(t.status)} · ${new Date(t.createdAt).toLocaleString()}`;
      b.append(title, meta);
      b.addEventListener("click", () => openTicket(t.id));
      li.append(b);
      return li;
    }),
  );
  $("queue-count").textContent = String(tickets.length);
  $("queue-empty").hidden = tickets.length > 0;
}

async function loadQueue() {
  const status = $("filter").value;
  const page = await call(`/donor-queries/general?limit=100${status ? `&status=${status}` : ""}`);
  queue.clear();
  for (const t of page.data) {
    if (fresher(t, states.get(t.id))) states.set(t.id, t);
    queue.set(t.id, states.get(t.id));
  }
  renderQueue();
}

function trackTicket(ticket) {
  if (!fresher(ticket, states.get(ticket.id))) return;
  states.set(ticket.id, ticket);
  if (matches(ticket)) queue.set(ticket.id, { ...queue.get(ticket.id), ...ticket });
  else queue.delete(ticket.id);
  renderQueue();
}

// --- one ticket ---

function showTicket(ticket) {
  if (!fresher(ticket, current)) return;
  current = { ...current, ...ticket };
  $("ticket-title").textContent = `#${current.id} ${current.title}`;
  $("ticket-status").textContent = human(current.status);
  const id = current.assigneeId;
  const name = id === auth.user.id ? "you" : current.assignee?.id === id ? current.assignee.name : names.get(id) ?? `#${id}`;
  const who = id ? `assigned to ${name}` : "unassigned";
  $("ticket-meta").textContent = `${current.donor ? `${current.donor} (${current.donorId}) · ` : ""}${who}`;
  const open = !["RESOLVED", "CLOSED"].includes(current.status);
  $("accept").disabled = !open || (current.assigneeId === auth.user.id && current.status === "IN_PROGRESS");
  $("transfer").disabled = !open;
  $("resolve").disabled = !open;
  $("reply-form").hidden = current.status === "CLOSED";
}

async function openTicket(id) {
  if (current && current.id !== id) live.leave(current.id);
  current = { id };
  conversation.clear();
  doing.clear();
  $("summary").hidden = true;
  $("qa").hidden = true;
  $("transfer-form").hidden = true;
  $("ticket-error").textContent = "";
  $("ticket-body").hidden = false;
  renderQueue();
  try {
    const ticket = await call(`/donor-queries/admin/${id}`).catch(() => call(`/donor-queries/${id}`));
    if (current.id !== id) return;
    showTicket(ticket);
  } catch (e) {
    $("ticket-error").textContent = e.message;
  }
  // Joined after the ticket is known, so the replay can name the donor.
  live.join(id);
  loadReviews().catch(() => {});
  $("ticket-title").focus();
}

async function act(path, body) {
  $("ticket-error").textContent = "";
  try {
    const ticket = await call(path, { method: "PATCH", body });
    showTicket(ticket);
    trackTicket(ticket);
  } catch (e) {
    $("ticket-error").textContent = e.message;
  }
}

$("accept").addEventListener("click", () => act(`/donor-queries/${current.id}/accept`));
$("resolve").addEventListener("click", () => act(`/donor-queries/${current.id}/resolve`));
$("transfer").addEventListener("click", async () => {
  const select = $("transfer-to");
  try {
    const users = await call("/users?limit=100");
    for (const u of users.data) names.set(u.id, u.name);
    select.replaceChildren(
      ...users.data
        .filter((u) => u.isActive !== false)
        .map((u) => new Option(`${u.name} (${u.username})`, String(u.id))),
    );
    $("transfer-form").hidden = false;
    select.focus();
  } catch (e) {
    $("ticket-error").textContent = e.message;
  }
});
$("transfer-cancel").addEventListener("click", () => { $("transfer-form").hidden = true; $("transfer").focus(); });
$("transfer-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  await act(`/donor-queries/${current.id}/transfer`, { toUserId: Number($("transfer-to").value), note: $("transfer-note").value });
  $("transfer-form").hidden = true;
});
$("summarize").addEventListener("click", async () => {
  $("summarize").disabled = true;
  try {
    const summary = await call(`/summaries/generate/${current.id}?wait=true`, { method: "POST" });
    $("summary-text").textContent = [summary.content, ...(summary.keyPoints || []).map((k) => `• ${k}`)].join("\n");
    $("summary").hidden = false;
  } catch (e) {
    $("ticket-error").textContent = e.message;
  } finally {
    $("summarize").disabled = false;
  }
});

// --- QA review of the agents' replies ---

async function loadReviews() {
  if (!current) return;
  const id = current.id;
  const page = await call(`/qa/task/${id}?limit=100`);
  if (current?.id !== id) return;
  $("reviews").replaceChildren(...page.data.map(reviewItem));
  $("qa").hidden = page.data.length === 0;
}

function reviewItem(r) {
  const li = document.createElement("li");
  const flags = r.verdict.flags.map((f) => `${human(f.kind)} (${f.evidence})`).join(", ") || "no flags";
  const text = conversation.messages.get(r.messageId)?.content ?? `message #${r.messageId}`;
  li.textContent = `“${text.slice(0, 80)}” · ${human(r.status)} · ${flags} · sentiment ${r.verdict.sentiment.toFixed(1)}`;
  if (r.status === "PENDING") {
    const row = document.createElement("div");
    row.className = "row";
    for (const [name, status] of [["Approve", "APPROVED"], ["Reject", "REJECTED"]]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = name;
      b.addEventListener("click", () => decide(r.id, status));
      row.append(b);
    }
    li.append(row);
  }
  return li;
}

async function decide(reviewId, status) {
  try {
    await call(`/qa/${reviewId}`, { method: "PUT", body: { status } });
    await loadReviews();
  } catch (e) {
    $("ticket-error").textContent = e.message;
  }
}

$("review").addEventListener("click", async () => {
  const reply = conversation.latest((m) => m.senderType === "STAFF");
  if (!reply) {
    $("ticket-error").textContent = "There is no reply to review yet.";
    return;
  }
  try {
    await call("/qa", { method: "POST", body: { messageId: reply.id } });
    await loadReviews();
  } catch (e) {
    $("ticket-error").textContent = e.message;
  }
});

composer({
  form: $("reply-form"),
  box: $("reply"),
  files: $("files"),
  button: $("send"),
  error: $("ticket-error"),
  send: (content, files, progress) => postMessage(current.id, content, files, auth.token, progress),
  onSent: (message) => conversation.put(message),
  typing: (on) => current && live?.typing(current.id, on),
  uploading: (uploadId, fileName, percent) =>
    current && live?.send({ type: "upload_progress", ticketId: current.id, uploadId, fileName, percent }),
});

// --- session ---

function onEvent(f) {
  const ticketEvent = f.event.startsWith("ticket_");
  if (ticketEvent && f.data && !f.data.deleted) trackTicket(f.data);
  if (f.event === "ticket_deleted") { queue.delete(f.ticketId); renderQueue(); }
  if (current && f.ticketId === current.id) {
    if (ticketEvent && f.data && !f.data.deleted) showTicket(f.data);
    else if (f.event === "qa_review_updated") loadReviews().catch(() => {});
    else conversation.apply(f.event, f.data);
  }
}

function startDesk() {
  $("login").hidden = true;
  $("desk").hidden = false;
  $("sign-out").hidden = false;
  $("me").textContent = `${auth.user.name} (${human(auth.user.role)})`;
  live = new Live(auth.token, {
    onEvent,
    onTyping: (f) => { if (current && f.ticketId === current.id) doing.typing(f); },
    onUpload: (f) => { if (current && f.ticketId === current.id) doing.upload(f); },
    onState: (state) => {
      $("conn").dataset.state = state;
      $("conn").textContent = state === "online" ? "Connected" : "Reconnecting…";
    },
    // The staff room is not replayed: after a reconnection the queue is listed again.
    onReady: (_f, resumed) => { if (resumed) loadQueue().catch(() => {}); },
    onAuthLost: signOut,
  });
  window.conciergeLive = live;
  loadQueue().catch((e) => { $("ticket-error").textContent = e.message; });
}

function signOut() {
  live?.close();
  live = null;
  auth = null;
  current = null;
  sessionStorage.removeItem(KEY);
  $("desk").hidden = true;
  $("sign-out").hidden = true;
  $("me").textContent = "";
  $("conn").textContent = "";
  $("login").hidden = false;
  $("username").focus();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-error").textContent = "";
  try {
    const res = await api("/auth/login", { method: "POST", body: { username: $("username").value.trim(), password: $("password").value } });
    auth = { token: res.accessToken, user: res.user };
    sessionStorage.setItem(KEY, JSON.stringify(auth));
    $("password").value = "";
    startDesk();
  } catch (err) {
    $("login-error").textContent = err.status === 401 ? "Wrong username or password." : err.message;
  }
});
$("sign-out").addEventListener("click", signOut);
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = $("search-q").value.trim();
  if (q) search(q).catch((err) => { $("search-error").textContent = err.message; });
});
$("filter").addEventListener("change", () => loadQueue().catch((e) => { $("ticket-error").textContent = e.message; }));

try { auth = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { auth = null; }
if (auth?.token) startDesk(); else signOut();
