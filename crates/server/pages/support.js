// The donor's page: start a query, then the live conversation. The donor token stays in
// localStorage, so a reload returns to the same conversation.
import { api, ApiError, Live, Conversation, postMessage, download, activity, composer, fresher } from "./client.js";

const KEY = "concierge.donor";
const $ = (id) => document.getElementById(id);
let session = null; // { token, ticketId }
let live = null;
let known = null; // the ticket's newest state seen

const conversation = new Conversation($("conversation"), {
  open: (a) => download(a, session.token).catch((e) => { $("send-error").textContent = `Cannot download ${a.fileName}: ${e.message}`; }),
  mine: (m) => m.senderType === "DONOR",
  label: (m) => (m.senderType === "DONOR" ? "You" : m.senderType === "SYSTEM" ? "Note" : m.sender?.name || "Support"),
});
const doing = activity($("typing"));

function setStatus(ticket) {
  if (!fresher(ticket, known)) return;
  known = ticket;
  const { status } = ticket;
  $("status").textContent = status.replace(/_/g, " ").toLowerCase();
  const closed = status === "CLOSED";
  $("send-form").hidden = closed;
  $("closed").hidden = !closed;
}

function showStart() {
  $("chat").hidden = true;
  $("start").hidden = false;
  $("name").focus();
}

async function openChat() {
  $("start").hidden = true;
  $("chat").hidden = false;
  conversation.clear();
  known = null;
  try {
    const ticket = await api(`/donor-queries/${session.ticketId}`, { token: session.token });
    setStatus(ticket);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
      forget();
      return;
    }
    $("send-error").textContent = "Cannot reach the server; retrying.";
  }
  live = new Live(session.token, {
    onEvent: (f) => {
      if (f.ticketId !== session.ticketId) return;
      conversation.apply(f.event, f.data);
      if (f.event === "ticket_updated" && f.data?.status) setStatus(f.data);
    },
    onTyping: doing.typing,
    onUpload: doing.upload,
    onState: (state) => {
      $("conn").dataset.state = state;
      $("conn").textContent = state === "online" ? "Connected" : "Reconnecting…";
    },
    onAuthLost: forget,
  });
  live.join(session.ticketId);
  window.conciergeLive = live;
  $("message").focus();
}

function forget() {
  live?.close();
  live = null;
  session = null;
  localStorage.removeItem(KEY);
  showStart();
}

$("start-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const donor = $("name").value.trim();
  const donorId = $("donor-id").value.trim();
  const message = $("first").value.trim();
  if (!donor || !donorId || !message) {
    $("start-error").textContent = "Please fill in your name, donor ID and message.";
    return;
  }
  $("start-error").textContent = "";
  try {
    const created = await api("/donor-queries", { method: "POST", body: { donor, donorId, message, queryMode: "TEXT" } });
    session = { token: created.donorToken, ticketId: created.id };
    localStorage.setItem(KEY, JSON.stringify(session));
    $("start-form").reset();
    await openChat();
  } catch (err) {
    $("start-error").textContent = err.message || "Could not start your request.";
  }
});

composer({
  form: $("send-form"),
  box: $("message"),
  files: $("files"),
  button: $("send"),
  error: $("send-error"),
  send: (content, files, progress) => postMessage(session.ticketId, content, files, session.token, progress),
  onSent: (message) => conversation.put(message),
  typing: (on) => live?.typing(session.ticketId, on),
  uploading: (uploadId, fileName, percent) =>
    live?.send({ type: "upload_progress", ticketId: session.ticketId, uploadId, fileName, percent }),
});

$("call").addEventListener("click", async () => {
  try {
    await api(`/communication/call/${session.ticketId}/request`, { method: "POST", token: session.token, body: { mode: "AUDIO" } });
    $("send-error").textContent = "";
    $("notice").textContent = "Call requested: we will call you back.";
  } catch (err) {
    $("send-error").textContent = `Could not request a call: ${err.message}`;
  }
});

$("close").addEventListener("click", async () => {
  try {
    const ticket = await api(`/donor-queries/${session.ticketId}/donor-close`, { method: "POST", token: session.token });
    setStatus(ticket);
    $("again").focus();
  } catch (err) {
    $("send-error").textContent = `Could not close: ${err.message}`;
  }
});

$("again").addEventListener("click", forget);

try { session = JSON.parse(localStorage.getItem(KEY) || "null"); } catch { session = null; }
if (session?.token && session?.ticketId) openChat(); else showStart();
