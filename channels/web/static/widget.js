/* The onboarding helper's chat widget. One tag on any page:
 *
 *   <script src="https://chat.example.org/widget.js" data-color="#1f5fa8" data-lang="pl"
 *           data-position="left" defer></script>
 *
 * Plain browser JavaScript, no framework and nothing from other hosts: the channel service serves
 * this file, its stylesheet and the WebSocket (protocol: channels/web/routes.py). The widget lives
 * in a shadow root, so the page's styles and the widget's never touch each other. Message text is
 * only ever set with textContent (links are built element by element): what people and the bot
 * write is never parsed as HTML.
 */
(function () {
  "use strict";

  // currentScript is null when a loader runs this file as a module; then the tag is found by name.
  var script = document.currentScript || document.querySelector('script[src$="/widget.js"]');
  if (!script || window.onboardingChatWidget) return; // loaded twice on one page: once is enough
  window.onboardingChatWidget = true;

  // Filled in by the channel service from knowledge/channels.yml: {language: {key: text}}.
  // biome-ignore format: the channel service replaces this exact text (LABELS_MARKER, channels/web/routes.py).
  var LABELS = /*LABELS*/{};
  // The bot's languages, the default first, from common/languages.py.
  // biome-ignore format: the channel service replaces this exact text (LANGUAGES_MARKER, channels/web/routes.py).
  var LANGUAGES = /*LANGUAGES*/[];
  var DEFAULT_COLOR = "#1f5fa8";
  var STORAGE_PREFIX = "onboarding-chat:";
  var SESSION_FORMAT = /^[A-Za-z0-9-]{8,64}$/;
  var MAX_RETRY_MS = 15000;
  var TYPING_TIMEOUT_MS = 30000;

  var origin = new URL(script.src, location.href).origin;
  var socketUrl = origin.replace(/^http/, "ws") + "/widget/ws";
  var language = chooseLanguage(script.getAttribute("data-lang"));
  var labels = LABELS[language] || LABELS[LANGUAGES[0]];
  var colors = chooseColors(script.getAttribute("data-color"));
  var onLeft = /left/.test(script.getAttribute("data-position") || "");

  // ---- Settings --------------------------------------------------------------------------

  // data-lang wins; else the first of the browser's languages the bot speaks; else the default
  // (Ukrainian), like the bot itself.
  function chooseLanguage(requested) {
    var wanted = [requested || ""].concat(navigator.languages || [navigator.language || ""]);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i]).slice(0, 2).toLowerCase();
      if (LANGUAGES.indexOf(code) >= 0) return code;
    }
    return LANGUAGES[0];
  }

  // The accent colour from data-color (#rgb or #rrggbb); text on it in white or black, whichever
  // reads better (for any colour one of them reaches 4.5:1); and an "ink" for text on white: the
  // accent where it keeps 4.5:1, else near-black.
  function chooseColors(requested) {
    var accent = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(requested || "") ? requested : DEFAULT_COLOR;
    var onAccent = contrast(accent, "#ffffff") >= contrast(accent, "#000000") ? "#ffffff" : "#000000";
    var ink = contrast(accent, "#ffffff") >= 4.5 ? accent : "#1a1a1a";
    return { accent: accent, onAccent: onAccent, ink: ink };
  }

  function luminance(hex) {
    var digits = hex.slice(1);
    if (digits.length === 3) digits = digits.replace(/./g, "$&$&");
    var channels = [0, 2, 4].map(function (at) {
      var c = parseInt(digits.slice(at, at + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  function contrast(a, b) {
    var la = luminance(a);
    var lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  // ---- Storage: the session and whether the panel was open survive a reload ----------------

  // localStorage can be switched off; the widget then works for as long as the page is open.
  var memory = {};
  function load(key) {
    try {
      return window.localStorage.getItem(STORAGE_PREFIX + key);
    } catch (_error) {
      return memory[key] || null;
    }
  }
  function save(key, value) {
    memory[key] = value;
    try {
      window.localStorage.setItem(STORAGE_PREFIX + key, value);
    } catch (_error) {
      /* kept in memory only */
    }
  }

  function storedSession() {
    var session = load("session");
    return session && SESSION_FORMAT.test(session) ? session : null;
  }

  // crypto.randomUUID exists only on https (and localhost) pages; getRandomValues everywhere.
  function newSession() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // ---- The widget's elements -------------------------------------------------------------

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var host = element("div", { "data-onboarding-chat": "" });
  // Shown once the stylesheet has loaded, so the page never shows an unstyled widget.
  host.style.display = "none";
  host.style.setProperty("--accent", colors.accent);
  host.style.setProperty("--on-accent", colors.onAccent);
  host.style.setProperty("--ink", colors.ink);
  var root = host.attachShadow({ mode: "open" });

  var stylesheet = element("link", { rel: "stylesheet", href: origin + "/widget.css" });
  function reveal() {
    host.style.display = "";
  }
  stylesheet.addEventListener("load", reveal);
  stylesheet.addEventListener("error", reveal);

  var widget = element("div", { class: "widget " + (onLeft ? "left" : "right"), lang: language });
  var launcher = element("button", {
    type: "button",
    class: "launcher",
    "aria-expanded": "false",
    "aria-controls": "onboarding-chat-panel",
    "aria-label": labels.open,
  });
  launcher.appendChild(chatIcon());
  var badge = element("span", { class: "badge", "aria-hidden": "true", hidden: "" });
  launcher.appendChild(badge);

  var panel = element("div", {
    id: "onboarding-chat-panel",
    class: "panel",
    role: "dialog",
    "aria-label": labels.title,
    hidden: "",
  });
  var header = element("div", { class: "header" });
  header.appendChild(element("h2", { class: "title" }, labels.title));
  var closeButton = element("button", { type: "button", class: "close", "aria-label": labels.close });
  closeButton.appendChild(element("span", { "aria-hidden": "true" }, "\u00d7"));
  header.appendChild(closeButton);

  var status = element("p", { class: "status", role: "status" });
  // Focusable so that keyboard users can scroll a long conversation.
  var log = element("div", {
    class: "log",
    role: "log",
    "aria-live": "polite",
    "aria-label": labels.title,
    tabindex: "0",
  });
  var typing = element("p", { class: "typing", "aria-hidden": "true", hidden: "" }, labels.typing);

  var form = element("form", { class: "composer" });
  form.appendChild(
    element("label", { class: "visually-hidden", for: "onboarding-chat-input" }, labels.placeholder)
  );
  var input = element("input", {
    id: "onboarding-chat-input",
    type: "text",
    autocomplete: "off",
    enterkeyhint: "send",
    placeholder: labels.placeholder,
  });
  form.appendChild(input);
  form.appendChild(element("button", { type: "submit", class: "send" }, labels.send));

  [header, status, log, typing, form].forEach(function (part) {
    panel.appendChild(part);
  });
  widget.appendChild(panel);
  widget.appendChild(launcher);
  root.appendChild(stylesheet);
  root.appendChild(widget);

  function chatIcon() {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute(
      "d",
      "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"
    );
    svg.appendChild(path);
    return svg;
  }

  // ---- Messages --------------------------------------------------------------------------

  var lastId = 0; // the newest message shown
  var seenId = Number(load("seen")) || 0; // the newest message shown while the panel was open
  var state = "bot";
  var typingTimer = null;
  var quietHistory = false; // the history of a page load is old news: shown, not read out

  function authorLabel(author) {
    if (author === "user") return labels.you;
    if (author === "staff") return labels.staff;
    return labels.bot;
  }

  // Text with its web addresses as links; only http(s) addresses become links.
  function appendText(node, text) {
    var parts = String(text).split(/(https?:\/\/[^\s<>"']+)/);
    parts.forEach(function (part, index) {
      if (index % 2 === 0) {
        if (part) node.appendChild(document.createTextNode(part));
        return;
      }
      var trailing = part.match(/[.,;:!?)\]]+$/);
      var address = trailing ? part.slice(0, -trailing[0].length) : part;
      var link = element("a", { href: address, target: "_blank", rel: "noopener noreferrer" }, address);
      node.appendChild(link);
      if (trailing) node.appendChild(document.createTextNode(trailing[0]));
    });
  }

  // Buttons answer the latest question only: once the person has written again, older ones go.
  function removeButtons() {
    var groups = log.querySelectorAll(".buttons");
    var focusInside = false;
    Array.prototype.forEach.call(groups, function (group) {
      if (group.contains(root.activeElement)) focusInside = true;
      group.remove();
    });
    if (focusInside) input.focus();
  }

  function render(message) {
    if (message.id <= lastId) return; // already shown (the history after a reconnect, two tabs)
    lastId = message.id;
    show(message).setAttribute("data-id", String(message.id));
  }

  // A message on the screen: a stored one (render) or a notice, which has no id.
  function show(message) {
    if (message.author === "user") removeButtons();
    else hideTyping();

    var item = element("div", { class: "message from-" + message.author, "data-author": message.author });
    // Who said it: read out for everybody, shown for the helpdesk (a person, not the bot).
    var who = element("span", { class: message.author === "staff" ? "who" : "who visually-hidden" });
    who.textContent = authorLabel(message.author) + ": ";
    item.appendChild(who);
    var text = element("p", { class: "text" });
    appendText(text, message.text);
    item.appendChild(text);

    if (message.buttons && message.buttons.length) {
      var group = element("div", {
        class: "buttons",
        role: "group",
        "aria-label": authorLabel(message.author),
      });
      message.buttons.forEach(function (button) {
        var node = element("button", { type: "button" }, button.title);
        node.addEventListener("click", function () {
          send({ type: "button", title: button.title, payload: button.payload });
        });
        group.appendChild(node);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function receive(frame) {
    if (frame.type === "messages") {
      var fresh = frame.messages.filter(function (m) {
        return m.id > lastId;
      });
      var quiet = quietHistory;
      quietHistory = false;
      if (quiet) log.setAttribute("aria-live", "off");
      fresh.forEach(render);
      if (quiet) {
        setTimeout(function () {
          log.setAttribute("aria-live", "polite");
        }, 500);
      }
      if (!panel.hidden) markSeen();
      else if (
        fresh.some(function (m) {
          return m.author !== "user" && m.id > seenId;
        })
      )
        markUnread(true);
    } else if (frame.type === "notice") {
      // What the service says while it can store nothing: shown once, in no history.
      show({ author: "system", text: frame.text });
      if (panel.hidden) markUnread(true);
    } else if (frame.type === "state") {
      state = frame.state;
      if (state === "handoff") hideTyping();
      showStatus();
    }
  }

  function showTyping() {
    if (state !== "bot") return; // a person of the helpdesk takes their time
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    typing.hidden = true;
    clearTimeout(typingTimer);
  }

  function showStatus() {
    var text = "";
    if (!connected && attempts > 0) text = labels.reconnecting;
    else if (state === "handoff") text = labels.handoff;
    if (status.textContent !== text) status.textContent = text;
  }

  function markSeen() {
    seenId = Math.max(seenId, lastId);
    save("seen", String(seenId));
    markUnread(false);
  }

  function markUnread(value) {
    badge.hidden = !value;
    launcher.setAttribute("aria-label", value ? labels.open + " (" + labels.unread + ")" : labels.open);
  }

  // ---- The connection ----------------------------------------------------------------------

  var session = storedSession();
  var socket = null;
  var connected = false;
  var attempts = 0; // failed or lost connections since the last good one
  var retryTimer = null;

  function connect() {
    if (socket) return;
    clearTimeout(retryTimer);
    if (!session) {
      session = newSession();
      save("session", session);
    }
    var url = socketUrl + "?session=" + session + "&lang=" + language;
    var current = new WebSocket(url);
    socket = current;
    current.addEventListener("open", function () {
      attempts = 0;
      connected = true;
      // The first answer to a hello is the history; after a reconnect it holds what was missed.
      quietHistory = lastId === 0;
      current.send(JSON.stringify({ type: "hello", after: lastId }));
      showStatus();
    });
    current.addEventListener("message", function (event) {
      receive(JSON.parse(event.data));
    });
    current.addEventListener("close", function () {
      socket = null;
      connected = false;
      attempts += 1;
      hideTyping();
      showStatus();
      // Backoff with jitter, so that a restarted service is not met by every browser at once.
      var delay = Math.min(MAX_RETRY_MS, 1000 * Math.pow(2, attempts - 1)) * (0.5 + Math.random() / 2);
      retryTimer = setTimeout(connect, delay);
    });
  }

  function send(frame) {
    // Not connected (or closing): the text stays in the field, and the status says why.
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    showTyping();
    return true;
  }

  // Back online: no need to wait for the next retry.
  window.addEventListener("online", function () {
    if (session && !socket) connect();
  });

  // ---- Opening and closing -----------------------------------------------------------------

  function open(moveFocus) {
    panel.hidden = false;
    widget.classList.add("is-open");
    launcher.setAttribute("aria-expanded", "true");
    save("open", "1");
    markSeen();
    connect();
    showStatus();
    log.scrollTop = log.scrollHeight;
    if (moveFocus) input.focus();
  }

  function close() {
    panel.hidden = true;
    widget.classList.remove("is-open");
    launcher.setAttribute("aria-expanded", "false");
    save("open", "0");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open(true);
    else close();
  });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (text && send({ type: "message", text: text })) input.value = "";
  });

  function start() {
    document.body.appendChild(host);
    // The panel stays open across pages and reloads (without taking the focus from the page);
    // an ongoing conversation reconnects at once, so replies of the helpdesk show as unread.
    if (load("open") === "1") open(false);
    else if (session) connect();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
