// The helpdesk console: sign-in, live queue with transcripts, reply and hand back, person lookup,
// and the messages the bot fails on. No framework; every piece of data (what users and staff
// wrote, names, codes) is put on the page with textContent, never parsed as HTML.
"use strict";

// The texts, in Polish and English, come from knowledge/console.yml: {language: {key: text}}.
// biome-ignore format: the channel service replaces this exact text (TEXTS_MARKER, channels/console/routes.py).
const TEXTS = /*TEXTS*/{};
// The staff's languages, the default first (common/languages.py).
// biome-ignore format: the channel service replaces this exact text (LANGUAGES_MARKER, channels/console/routes.py).
const LANGUAGES = /*LANGUAGES*/[];

const REFRESH_QUEUE_MS = 30000; // a backstop for tickets opened outside this service
const TICK_MS = 15000; // waiting times move on between updates

const storedLanguage = localStorage.getItem("console.language");
let language = LANGUAGES.includes(storedLanguage) ? storedLanguage : LANGUAGES[0];
const state = {
  view: "queue",
  signedIn: false,
  tickets: [],
  ticketsFetchedAt: 0,
  current: null, // {id, lastId, ticket, conversation}
  failures: null,
  labelChoices: {}, // a label chosen but not saved yet, by failureKey, kept across re-renders
  lookup: null,
  peselShown: false,
  socket: null,
  socketDelay: 1000,
};

const $ = (id) => document.getElementById(id);

function t(key, values = {}) {
  const text = TEXTS[language][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function errorText(error) {
  const texts = TEXTS[language].errors;
  const known = texts[error.code];
  return known ?? texts.unknown.replace("{message}", error.message || error.code);
}

// Makes an element; children are nodes or strings (strings become text nodes, never markup).
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// Runs `load` one call at a time: calls made meanwhile ask for a single run afterwards, so a
// burst of live updates costs one or two requests, and answers never arrive out of order.
function coalesced(load) {
  let running = null;
  let again = false;
  return async function run() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await load();
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  };
}

// The API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { "X-Requested-With": "console" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/console/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "");
  }
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    const failure = new ApiError(response.status, error.code || "unknown", error.message || "");
    // Only a session that ended says so; a first visit just shows the form.
    if (response.status === 401 && failure.code === "signed_out")
      showSignIn(state.signedIn ? errorText(failure) : "");
    throw failure;
  }
  return data;
}

// Texts and views

function applyTexts() {
  document.documentElement.lang = language;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll("[data-t-aria]"))
    node.setAttribute("aria-label", t(node.dataset.tAria));
  // The analytics page is rendered on the server, in the language it is asked for.
  $("analytics-link").href = `/console/analytics?lang=${language}`;
  const toggle = $("language-toggle");
  toggle.textContent = t("toggle");
  toggle.lang = language === "pl" ? "en" : "pl";
  renderQueue();
  renderConversation();
  renderLookup();
  renderFailures();
  renderLiveState();
}

function showView(view) {
  state.view = view;
  for (const section of ["queue", "lookup", "failures"]) $(`${section}-view`).hidden = section !== view;
  for (const tab of document.querySelectorAll("#tabs button")) {
    tab.setAttribute("aria-current", tab.dataset.view === view ? "page" : "false");
  }
  if (view === "failures") loadFailures();
}

function showNotice(text) {
  const notice = $("notice");
  notice.textContent = text;
  notice.hidden = !text;
}

function showSignIn(message = "") {
  state.signedIn = false;
  closeSocket();
  $("sign-in-view").hidden = false;
  for (const section of ["queue", "lookup", "failures"]) $(`${section}-view`).hidden = true;
  $("tabs").hidden = true;
  $("sign-out").hidden = true;
  $("staff-name").textContent = "";
  $("sign-in-error").textContent = message;
  $("username").focus();
}

function showConsole() {
  state.signedIn = true;
  $("sign-in-view").hidden = true;
  $("tabs").hidden = false;
  $("sign-out").hidden = false;
  const staff = JSON.parse(localStorage.getItem("console.staff") || "null");
  $("staff-name").textContent = staff ? staff.username : "";
  showView(state.view);
  openSocket();
}

// Formatting

function languageName(code) {
  return code ? t(`lang_${code}`) : t("lang_unknown");
}

function channelName(channel) {
  const key = `channel_${channel}`;
  return TEXTS[language][key] ? t(key) : channel;
}

function duration(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return "< 1 min";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function dateTime(iso) {
  return new Date(iso).toLocaleString(language === "pl" ? "pl-PL" : "en-GB");
}

function date(iso) {
  return iso
    ? new Date(`${iso}T00:00:00`).toLocaleDateString(language === "pl" ? "pl-PL" : "en-GB")
    : t("none");
}

function ticketLine(ticket) {
  const status =
    ticket.status === "assigned" ? t("status_assigned", { name: ticket.assigned_to }) : t("status_open");
  return [languageName(ticket.language), channelName(ticket.channel), status].join(" · ");
}

function reasonText(reason) {
  const key = `reason_${reason}`;
  return TEXTS[language][key] ? t(key) : reason;
}

// Queue

const loadQueue = coalesced(async () => {
  try {
    const data = await api("GET", "/queue");
    state.tickets = data.tickets;
    state.ticketsFetchedAt = Date.now();
    if (!state.signedIn) showConsole();
    renderQueue();
  } catch (error) {
    if (error.status !== 401) showNotice(errorText(error));
  }
});

function waitingSeconds(ticket) {
  return ticket.waiting_seconds + (Date.now() - state.ticketsFetchedAt) / 1000;
}

function renderQueue() {
  const list = $("queue-list");
  list.replaceChildren(
    ...state.tickets.map((ticket) => {
      const selected = state.current && state.current.id === ticket.id;
      const button = el(
        "button",
        {
          type: "button",
          className: "ticket",
          "aria-current": selected ? "true" : "false",
          "data-ticket": String(ticket.id),
          onclick: () => openTicket(ticket.id),
        },
        el("span", { className: "ticket-title", text: t("ticket", { id: ticket.id }) }),
        el("span", {
          className: "ticket-waiting",
          text: t("waiting", { time: duration(waitingSeconds(ticket)) }),
        }),
        el("span", { className: "ticket-meta", text: ticketLine(ticket) }),
        el("span", { className: "ticket-reason", text: reasonText(ticket.reason) })
      );
      return el("li", {}, button);
    })
  );
  $("queue-empty").hidden = state.tickets.length > 0;
}

// Transcript, reply and hand back

function openTicket(id) {
  state.current = { id, lastId: 0, ticket: null, conversation: null };
  $("forgotten").hidden = true;
  $("transcript").replaceChildren();
  $("reply-text").value = "";
  $("conversation-error").textContent = "";
  renderQueue();
  loadTranscript();
}

const loadTranscript = coalesced(async () => {
  const current = state.current;
  if (!current) return;
  try {
    const data = await api("GET", `/tickets/${current.id}?after=${current.lastId}`);
    if (state.current !== current) return; // another ticket was opened meanwhile
    current.ticket = data.ticket;
    current.conversation = data.conversation;
    appendMessages(data.messages);
    renderConversation();
  } catch (error) {
    if (error.status !== 401) $("conversation-error").textContent = errorText(error);
  }
});

function messageItem(message) {
  const author = el("span", { className: "author", text: t(`author_${message.author}`) });
  const time = el("time", { datetime: message.created_at, text: dateTime(message.created_at) });
  const item = el(
    "li",
    { className: `message from-${message.author}`, "data-id": String(message.id) },
    el("div", { className: "message-head" }, author, " ", time),
    el("p", { className: "message-text", text: message.text })
  );
  if (message.buttons.length) {
    item.append(
      el("p", { className: "message-buttons", text: t("buttons", { titles: message.buttons.join(" | ") }) })
    );
  }
  return item;
}

function appendMessages(messages) {
  if (!messages.length) return;
  const transcript = $("transcript");
  const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
  for (const message of messages) {
    transcript.append(messageItem(message));
    state.current.lastId = Math.max(state.current.lastId, message.id);
  }
  if (atBottom || messages.length === transcript.children.length)
    transcript.scrollTop = transcript.scrollHeight;
}

function renderConversation() {
  const current = state.current;
  $("no-selection").hidden = Boolean(current);
  $("conversation").hidden = !current?.ticket;
  if (!current?.ticket) return;
  const ticket = current.ticket;
  $("conversation-title").textContent = t("ticket", { id: ticket.id });
  $("conversation-meta").textContent = [
    ticketLine(ticket),
    reasonText(ticket.reason),
    dateTime(ticket.created_at),
  ].join(" · ");
  const withHelpdesk = Boolean(current.conversation?.with_helpdesk);
  $("reply-form").hidden = !withHelpdesk;
  $("conversation-closed").hidden = withHelpdesk;
  $("conversation-closed").textContent = current.conversation
    ? t("conversation_closed")
    : t("no_conversation");
  // Labels of messages already shown follow the language toggle.
  for (const item of $("transcript").children) {
    const author = item.className.match(/from-(\w+)/)[1];
    item.querySelector(".author").textContent = t(`author_${author}`);
    const time = item.querySelector("time");
    time.textContent = dateTime(time.getAttribute("datetime"));
  }
}

// A change to the current ticket: `button` is off meanwhile; the transcript and the queue follow.
async function changeTicket(button, change) {
  $("conversation-error").textContent = "";
  $(button).disabled = true;
  try {
    await change(state.current.id);
    await loadTranscript();
    loadQueue();
  } catch (error) {
    if (error.status !== 401) $("conversation-error").textContent = errorText(error);
  } finally {
    $(button).disabled = false;
  }
}

function sendReply(event) {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) {
    $("conversation-error").textContent = TEXTS[language].errors.empty_reply;
    return;
  }
  changeTicket("send-reply", async (id) => {
    await api("POST", `/tickets/${id}/replies`, { text });
    $("reply-text").value = "";
  });
}

function handBack() {
  changeTicket("hand-back", (id) => api("POST", `/tickets/${id}/hand-back`));
}

// A person's request to be forgotten: after a confirmation, the conversation is deleted everywhere
// (the backend audits who did it); its ticket is gone, so the view goes back to the queue.
async function forgetConversation() {
  const ticket = state.current?.ticket;
  if (!ticket || !window.confirm(t("forget_confirm"))) return;
  $("conversation-error").textContent = "";
  $("forget").disabled = true;
  try {
    await api("POST", `/conversations/${encodeURIComponent(ticket.conversation_id)}/forget`);
    state.current = null;
    renderConversation();
    $("forgotten").hidden = false;
    loadQueue();
  } catch (error) {
    if (error.status !== 401) $("conversation-error").textContent = errorText(error);
  } finally {
    $("forget").disabled = false;
  }
}

// Live updates: the socket only says which conversation changed; the page asks the API again.

function openSocket() {
  if (state.socket) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/console/ws`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    state.socketDelay = 1000;
    renderLiveState();
    // Whatever changed while the socket was down.
    loadQueue();
    if (state.current) loadTranscript();
  });
  socket.addEventListener("message", (event) => {
    const hint = JSON.parse(event.data);
    // A handoff or hand-back changes the queue; a message in a queued conversation may change who
    // handles it. Messages of conversations with the bot change nothing here.
    const queued = state.tickets.some((ticket) => ticket.conversation_id === hint.conversation_id);
    if (hint.type === "state" || queued) loadQueue();
    if (state.current?.ticket && hint.conversation_id === state.current.ticket.conversation_id)
      loadTranscript();
  });
  socket.addEventListener("close", (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (event.code === 4401) {
      showSignIn(TEXTS[language].errors.signed_out);
      return;
    }
    renderLiveState();
    if (state.signedIn) {
      setTimeout(openSocket, state.socketDelay);
      state.socketDelay = Math.min(state.socketDelay * 2, 15000);
    }
  });
  renderLiveState();
}

function closeSocket() {
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close();
  renderLiveState();
}

function renderLiveState() {
  const live = $("live-state");
  const down = state.signedIn && (!state.socket || state.socket.readyState !== WebSocket.OPEN);
  live.hidden = !down;
  live.textContent = down ? t("live_off") : "";
}

// Lookup

async function lookUp(event) {
  event.preventDefault();
  $("lookup-error").textContent = "";
  try {
    state.lookup = await api("POST", "/lookups", { pesel: $("lookup-pesel").value });
    state.peselShown = false;
    // The number stays off the screen unless revealed.
    $("lookup-pesel").value = "";
  } catch (error) {
    state.lookup = null;
    if (error.status !== 401) $("lookup-error").textContent = errorText(error);
  }
  renderLookup();
}

function renderLookup() {
  const result = state.lookup;
  $("lookup-result").hidden = !result;
  if (!result) return;
  const { person, onboarding } = result;
  $("lookup-name").textContent = `${person.first_name} ${person.last_name}`;
  const profile = onboarding.trusted_profile;
  let profileText = t(`pz_${profile.state}`);
  if (profile.expires_on && profile.state === "expired") {
    profileText = t("expired_on", { date: date(profile.expires_on) });
  } else if (profile.expires_on) {
    profileText += `, ${t("valid_until", { date: date(profile.expires_on) })}`;
  }
  const reveal = el("button", {
    type: "button",
    id: "reveal-pesel",
    className: "link",
    "aria-pressed": state.peselShown ? "true" : "false",
    text: state.peselShown ? t("hide") : t("show"),
    onclick: () => {
      state.peselShown = !state.peselShown;
      renderLookup();
    },
  });
  const peselValue = el("span", {
    id: "lookup-pesel-value",
    // The masked form is the server's (common/pii.py, the staff view).
    text: state.peselShown ? person.pesel : person.pesel_masked,
  });
  const rows = [
    [t("pesel"), [peselValue, " ", reveal]],
    [t("pesel_assigned_on"), [date(onboarding.pesel_assigned_on)]],
    [t("ukr_status"), [t(`ukr_${onboarding.ukr_status}`)]],
    [t("trusted_profile"), [profileText]],
    [t("ikp_contacts"), [onboarding.ikp_contact_details_set ? t("yes") : t("no")]],
    [t("email"), [person.email || t("none")]],
    [t("phone"), [person.phone || t("none")]],
  ];
  $("lookup-record").replaceChildren(
    ...rows.flatMap(([term, values]) => [el("dt", { text: term }), el("dd", {}, ...values)])
  );
}

// Failures

async function loadFailures() {
  try {
    state.failures = await api("GET", "/failures");
    showNotice("");
  } catch (error) {
    if (error.status !== 401) showNotice(errorText(error));
  }
  renderFailures();
}

function renderFailures() {
  const data = state.failures;
  $("failures-hint").textContent = t("failures_hint", {
    threshold: data ? Math.round(data.threshold * 100) : 60,
  });
  if (!data) return;
  $("failures-labelled").textContent = data.labelled ? t("labelled_count", { count: data.labelled }) : "";
  const wanted = $("failures-language").value;
  const shown = data.failures.filter((failure) => !wanted || failure.language === wanted);
  $("failures-rows").replaceChildren(
    ...shown.map((failure, index) => {
      const reading =
        failure.confidence === null
          ? failure.intent
          : `${failure.intent} (${Math.round(failure.confidence * 100)}%)`;
      return el(
        "tr",
        { "data-failure": failureKey(failure) },
        el("td", { className: "failure-text", text: failure.text }),
        el("td", { text: languageName(failure.language) }),
        el("td", { className: "count", text: String(failure.count) }),
        el("td", { text: reading }),
        el("td", { text: dateTime(failure.last_seen) }),
        el("td", { className: "failure-label" }, ...labelControls(failure, index))
      );
    })
  );
  $("failures-table").hidden = shown.length === 0;
  $("failures-empty").hidden = shown.length > 0;
}

// Labels: what a failed message should have been (an intent, an FAQ answer or a new topic).

function failureKey(failure) {
  return `${failure.language ?? ""}\n${failure.text}`;
}

function labelName(label) {
  if (label.kind === "intent") return t(`intent_${label.value}`);
  if (label.kind === "new_topic") return t("new_topic");
  return label.names[language] ?? label.value;
}

function labelOptions(kind) {
  return state.failures.labels
    .filter((label) => label.kind === kind)
    .map((label) => el("option", { value: label.value, text: labelName(label) }));
}

function labelControls(failure, index) {
  const key = failureKey(failure);
  const select = el(
    "select",
    {
      id: `failure-label-${index}`,
      "aria-label": t("label_for", { text: failure.text }),
      onchange: () => {
        state.labelChoices[key] = select.value;
        save.disabled = !select.value;
      },
    },
    el("option", { value: "", text: t("label_choose") }),
    el("optgroup", { label: t("label_intents") }, ...labelOptions("intent")),
    el("optgroup", { label: t("label_faq") }, ...labelOptions("faq")),
    el("optgroup", { label: t("label_other") }, ...labelOptions("new_topic"))
  );
  select.value = state.labelChoices[key] ?? "";
  const save = el("button", {
    type: "button",
    className: "secondary",
    text: t("label_save"),
    "aria-label": t("label_save_for", { text: failure.text }),
    onclick: () => saveLabel(failure, select.value, save),
  });
  save.disabled = !select.value;
  return [select, save];
}

async function saveLabel(failure, value, button) {
  if (!value) return;
  $("failures-error").textContent = "";
  $("failures-status").textContent = "";
  button.disabled = true;
  try {
    await api("POST", "/failures/labels", {
      text: failure.text,
      language: failure.language,
      label: value,
    });
  } catch (error) {
    button.disabled = false;
    if (error.status !== 401) $("failures-error").textContent = errorText(error);
    return;
  }
  const key = failureKey(failure);
  const data = state.failures;
  const label = data.labels.find((candidate) => candidate.value === value);
  data.failures = data.failures.filter((other) => failureKey(other) !== key);
  data.labelled += 1;
  delete state.labelChoices[key];
  renderFailures();
  $("failures-status").textContent = t("label_saved", {
    text: failure.text,
    label: label ? labelName(label) : value,
  });
  // The row is gone: the keyboard goes on with the next message's label, else the language filter.
  const next = document.querySelector("#failures-rows select");
  (next ?? $("failures-language")).focus();
}

// Sign-in and wiring

async function signIn(event) {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  try {
    const staff = await api("POST", "/session", {
      username: $("username").value,
      password: $("password").value,
    });
    localStorage.setItem("console.staff", JSON.stringify(staff));
    $("password").value = "";
    await loadQueue();
  } catch (error) {
    $("sign-in-error").textContent = errorText(error);
  }
}

async function signOut() {
  try {
    await api("DELETE", "/session");
  } finally {
    localStorage.removeItem("console.staff");
    state.current = null;
    state.tickets = [];
    state.lookup = null;
    state.failures = null;
    state.labelChoices = {};
    renderConversation();
    showSignIn();
  }
}

function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("reply-form").addEventListener("submit", sendReply);
  $("reply-text").addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter starts a new line.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) sendReply(event);
  });
  $("hand-back").addEventListener("click", handBack);
  $("forget").addEventListener("click", forgetConversation);
  $("lookup-form").addEventListener("submit", lookUp);
  $("failures-language").addEventListener("change", renderFailures);
  $("failures-refresh").addEventListener("click", loadFailures);
  for (const tab of document.querySelectorAll("#tabs button")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  $("language-toggle").addEventListener("click", () => {
    language = language === "pl" ? "en" : "pl";
    localStorage.setItem("console.language", language);
    applyTexts();
  });
  setInterval(() => state.signedIn && loadQueue(), REFRESH_QUEUE_MS);
  setInterval(() => state.signedIn && renderQueue(), TICK_MS);
  applyTexts();
  // Signed in already when the queue answers; a 401 shows the sign-in form.
  loadQueue();
}

start();
