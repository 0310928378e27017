// chatroom's page: the same hall as telnet users, over a WebSocket that carries JSON events.
// docs/web-protocol.md lists every message. Whatever anyone typed is put on the page as text
// (textContent, text nodes), never as HTML; its http(s) addresses become links, and each piece of it
// is isolated (<bdi>) so right-to-left text cannot reorder the line around it.
"use strict";

const BACKOFF = [1, 2, 4, 8]; // seconds before each new try; then every 10, as chatroom-client does
const LAST_BACKOFF = 10;
const MAX_LOG = 2000; // lines kept on the page; older ones are dropped
const SEEN_KEPT = 5000; // ids of room lines shown, to show nothing twice after a reconnect
const SECRET_COMMAND = /^\/(register|password|unregister)\b/i;
const WEB_ADDRESS = /\bhttps?:\/\/[^\s<>"]+/giu;
const NOT_AN_ADDRESS_END = /[.,;:!?'*]+$/u; // the full stop after an address ends the sentence, not the address

const $ = (id) => document.getElementById(id);

const page = {
  socket: null,
  epoch: null,
  colours: [],
  commands: [],
  me: null, // {name, colour, room} once online
  wanted: null, // {name, colour}: the login to give (typed in the form, or the last one, after a drop)
  lastId: 0, // the last room line shown, for asking what was missed
  seen: new Set(),
  online: false,
  asked: null, // what the server is waiting for while logging in: "name" or "colour"
  rejoin: null, // the room to go back to after logging in again
  leaving: false, // the server said goodbye and will not be back for us (a kick, /quit)
  tries: 0,
  retryTimer: null,
  countdown: null,
  unseen: 0,
  sent: [], // what was sent, for Up and Down
  recall: null,
  completing: null,
  names: new Map(), // name -> colour, of everyone seen, for Tab
};

// Connecting, and coming back.

function connect() {
  clearTimeout(page.retryTimer);
  clearInterval(page.countdown);
  page.leaving = false;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/chat");
  page.socket = socket;
  socket.onmessage = (message) => {
    if (socket === page.socket) JSON.parse(message.data).forEach(handle);
  };
  socket.onclose = () => {
    if (socket === page.socket) lost();
  };
}

function lost() {
  const wasOnline = page.online;
  if (wasOnline) page.rejoin = page.me.room;
  page.online = false;
  page.asked = null;
  page.socket = null;
  $("join").disabled = true;
  if (page.leaving) {
    if (!$("login").hidden) showNameForm(); // turned away while logging in: the name and Join are back
    showStatus("You are disconnected. Press Enter (or Join) to come back.");
    return;
  }
  if (wasOnline || page.tries === 0) addLine("separator", ["-- Server is down, you are now disconnected."]);
  retry();
}

function retry() {
  let wait = BACKOFF[page.tries] ?? LAST_BACKOFF;
  page.tries += 1;
  const tell = () =>
    showStatus(`Server is down, you are now disconnected. Trying again in ${wait} s; what you typed is kept.`);
  tell();
  page.countdown = setInterval(() => {
    wait -= 1;
    if (wait > 0) tell();
  }, 1000);
  page.retryTimer = setTimeout(connect, wait * 1000);
}

function showStatus(text, ok = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("ok", ok);
  status.hidden = false;
}

function send(message) {
  if (page.socket && page.socket.readyState === WebSocket.OPEN) {
    page.socket.send(JSON.stringify(message));
    return true;
  }
  return false;
}

function sendLine(text) {
  return send({ type: "line", text });
}

// What the server sends.

const handlers = {
  hello(message) {
    if (page.epoch !== message.epoch) {
      page.seen.clear();
      page.lastId = 0;
    }
    page.epoch = message.epoch;
    page.colours = message.colours;
    page.commands = message.commands;
    showColours();
  },
  prompt(message) {
    page.asked = message.asks;
    if (message.asks === "name") askName(message);
    else if (message.asks === "password") askPassword(message);
    else askColour(message);
  },
  you(message) {
    const first = !page.online;
    page.asked = null;
    $("password-part").hidden = true;
    page.me = { name: message.you.name, colour: message.you.colour, room: message.room };
    page.wanted = { name: page.me.name, colour: page.me.colour, password: page.wanted?.password };
    page.online = true;
    if (first) cameOnline();
    $("where").replaceChildren(isolated(page.me.name), " in ", isolated(roomTitle(page.me.room)));
    $("members-title").replaceChildren("In ", isolated(roomTitle(page.me.room)));
  },
  rooms(message) {
    showRooms(message.rooms);
  },
  members(message) {
    if (page.me && message.room === page.me.room) showMembers(message);
  },
  chat: (event) => roomLine(event, [event.from, ": ", typed(event.text)]),
  action: (event) => roomLine(event, ["* ", event.from, " ", typed(event.text)]),
  all: (event) => roomLine(event, ["[all] ", event.from, ": ", typed(event.text)]),
  private(event) {
    const li = addLine("private", [time(event), " [private] ", event.from, " -> ", event.to, ": ", typed(event.text)]);
    noticeFor(li, event, event.from);
  },
  "room-notice": (event) => roomLine(event, [serverMark(), " ", ...spans(event.text)], "server"),
  notice(event) {
    if (!page.online && (page.asked === null || page.asked === "name")) {
      // the banner, before a name is given; once the name is answered, what follows goes to the log
      $("login-banner").textContent = event.lines.map(plainText).join(" ");
      return;
    }
    for (const line of event.lines) addLine("server", [serverMark(), " ", ...spans(line)]);
  },
  error(event) {
    if (!page.online) {
      $("login-problem").textContent = plainText(event.text);
      $("join").disabled = false;
      return;
    }
    addLine("server error", [serverMark(), " Error: ", ...spans(event.text)]);
  },
  history(event) {
    // Lines a room shows whoever comes in, or a page back from a drop, are shown once; /history shows them all.
    const fresh = event.asked ? event.lines : event.lines.filter((line) => !page.seen.has(line.id));
    if (fresh.length === 0) return;
    addLine("separator", ["-- The last lines said in ", isolated(roomTitle(event.room)), ":"]);
    fresh.forEach((line) => (event.asked ? handle({ ...line, again: true }) : handle(line)));
    addLine("separator", ["-- (end of recent lines)"]);
  },
  goodbye(event) {
    page.leaving = !event.will_return;
    if (!$("login").hidden) $("login-problem").textContent = event.text; // the log is not shown yet
    else addLine("server", [serverMark(), " ", ...spans(event.text)]);
  },
  ack() {},
};

function handle(message, fromHistory = false) {
  const handler = handlers[message.type];
  if (handler) handler(message, fromHistory);
}

// Logging in: the form when a person is asked, the last answers again after a drop.

function askName(prompt) {
  page.online = false;
  if (page.wanted && !prompt.problem) {
    sendLine(page.wanted.name);
    return;
  }
  showLogin(prompt.problem || "");
}

function askColour() {
  if (page.wanted) sendLine(page.wanted.colour || "");
}

// A registered name: its password, typed in a password field (kept in memory only, to log in again after a drop).
function askPassword(prompt) {
  if (page.wanted && page.wanted.password && !prompt.problem) {
    sendLine(page.wanted.password);
    return;
  }
  if (page.wanted) page.wanted.password = null;
  $("login").hidden = false;
  $("chat").hidden = true;
  $("colours").hidden = true;
  $("password-part").hidden = false;
  $("password-label").textContent = plainText(prompt.text);
  $("login-problem").textContent = prompt.problem || "";
  $("join").disabled = false;
  $("password").value = "";
  $("password").focus();
}

function showLogin(problem) {
  $("login").hidden = false;
  $("chat").hidden = true;
  showNameForm();
  $("login-problem").textContent = problem;
  if (page.wanted) $("name").value = page.wanted.name;
  page.wanted = null;
  $("name").focus();
}

// The form asks for a name and a colour (not a password), and Join is there to send them.
function showNameForm() {
  $("colours").hidden = false;
  $("password-part").hidden = true;
  $("join").disabled = false;
}

// The password field belongs to the name it was asked for: typing another name puts the colours back instead.
function nameTyped() {
  if (page.asked !== "password") return;
  const same = $("name").value.trim() === page.wanted?.name;
  $("password-part").hidden = !same;
  $("colours").hidden = same;
}

function showColours() {
  const box = $("colours");
  if (box.querySelector("input")) return;
  page.colours.forEach((colour, index) => {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "colour";
    input.value = colour;
    input.id = `colour-${index + 1}`;
    label.append(input, nameSpan({ name: colour, colour }));
    box.append(label);
  });
  const any = document.createElement("label");
  const input = document.createElement("input");
  input.type = "radio";
  input.name = "colour";
  input.value = "";
  input.checked = true;
  any.append(input, document.createTextNode("pick one for me"));
  box.append(any);
}

function submitLogin(submit) {
  submit.preventDefault();
  const name = $("name").value.trim();
  if (page.asked === "password" && name === page.wanted?.name) {
    sendPassword();
    return;
  }
  if (!name) {
    $("login-problem").textContent = "Type a name first.";
    return;
  }
  const colour = document.querySelector("input[name=colour]:checked");
  page.wanted = { name, colour: colour ? colour.value : "" };
  $("login-problem").textContent = "";
  if (page.asked === "password") {
    startAgain(); // another name: the server waits for the old one's password, so the page starts over
  } else if (!page.socket) {
    page.tries = 0;
    connect(); // its prompts are answered with page.wanted
  } else if (sendLine(page.asked === "colour" ? page.wanted.colour : name)) {
    $("join").disabled = true;
  }
}

function sendPassword() {
  const password = $("password").value;
  if (!password) {
    // Never right (a password has 8 characters or more), and a wrong one counts against this address.
    $("login-problem").textContent = `Type the password for ${page.wanted.name} first.`;
    return;
  }
  page.wanted.password = password;
  if (sendLine(password)) $("join").disabled = true;
  $("password").value = "";
}

// A new connection, once the old one is closed (so an address allowed one connection is not refused).
function startAgain() {
  const old = page.socket;
  page.socket = null;
  page.asked = null;
  $("join").disabled = true;
  $("password-part").hidden = true;
  page.tries = 0;
  old.onclose = connect;
  old.close();
}

function cameOnline() {
  $("login").hidden = true;
  $("chat").hidden = false;
  $("status").hidden = true;
  if (page.tries > 0) showStatus("Connected again.", true);
  setTimeout(() => {
    if (page.online && $("status").classList.contains("ok")) $("status").hidden = true;
  }, 3000);
  page.tries = 0;
  const wasIn = page.rejoin;
  page.rejoin = null;
  if (wasIn && wasIn !== "lobby") sendLine(`/join ${wasIn}`);
  if (page.lastId > 0) send({ type: "missed", after: page.lastId }); // back from a drop: what was said meanwhile
  $("log").lastElementChild?.scrollIntoView({ block: "end" });
  $("say").focus();
}

// The log.

function roomLine(event, parts, kind = "said") {
  if (page.seen.has(event.id) && !event.again) return;
  see(event.id);
  const li = addLine(kind, [time(event), " ", ...parts]);
  if (event.type !== "room-notice") noticeFor(li, event, event.from);
}

function see(id) {
  page.seen.add(id);
  if (page.seen.size > SEEN_KEPT) page.seen.delete(page.seen.values().next().value);
  if (id > page.lastId) page.lastId = id;
}

function noticeFor(li, event, speaker) {
  const mine = page.me && speaker && speaker.name === page.me.name;
  if (!mine && page.me && mentions(event.text, page.me.name)) li.classList.add("mention");
  if (!mine && document.hidden) {
    page.unseen += 1;
    document.title = `(${page.unseen}) chatroom`;
  }
}

function mentions(text, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escaped}($|[^\\p{L}\\p{N}_])`, "iu").test(text);
}

// `parts` are strings, elements, and names ({name, colour}), which are shown in their colour.
function addLine(kind, parts) {
  const log = $("log");
  const li = document.createElement("li");
  li.className = kind;
  for (const part of parts) li.append(toNode(part));
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  while (log.childElementCount > MAX_LOG) log.firstElementChild.remove();
  if (atBottom) li.scrollIntoView({ block: "end" });
  return li;
}

function time(event) {
  const span = document.createElement("span");
  span.className = "time";
  const when = new Date(event.time * 1000);
  const clock = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const today = when.toDateString() === new Date().toDateString();
  span.textContent = today ? `[${clock}]` : `[${when.toLocaleDateString()} ${clock}]`; // another day: dated
  span.title = when.toLocaleString();
  return span;
}

function serverMark() {
  const mark = document.createElement("span");
  mark.className = "mark";
  mark.textContent = "***";
  return mark;
}

function toNode(part) {
  if (typeof part === "string") return document.createTextNode(part);
  if (part instanceof Node) return part;
  page.names.set(part.name, part.colour); // a name: kept for Tab
  return nameSpan(part);
}

// A line of server text is a string, or a list of strings and names; its web addresses (a topic's, the
// message of the day's) are links too.
function spans(line) {
  return (typeof line === "string" ? [line] : line).flatMap((part) => (typeof part === "string" ? linked(part) : [part]));
}

// What someone typed, on a line of its own making: isolated from the name and the time around it.
function typed(text) {
  const bdi = document.createElement("bdi");
  bdi.append(...linked(text));
  return bdi;
}

function isolated(text) {
  const bdi = document.createElement("bdi");
  bdi.textContent = text;
  return bdi;
}

// `text` as text nodes, its http(s) addresses as links that open in a new tab and tell the other site nothing.
function linked(text) {
  const nodes = [];
  let done = 0;
  for (const found of text.matchAll(WEB_ADDRESS)) {
    const address = withoutTrailing(found[0]);
    if (!parses(address)) continue;
    nodes.push(text.slice(done, found.index));
    const link = document.createElement("a");
    link.href = address;
    link.textContent = address;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    link.dir = "ltr"; // an address reads from the left, even in a right-to-left line
    nodes.push(link);
    done = found.index + address.length;
  }
  nodes.push(text.slice(done));
  return nodes.filter((node) => node !== "");
}

function parses(address) {
  try {
    return Boolean(new URL(address));
  } catch {
    return false; // a host in brackets that never closes, say
  }
}

// An address without the punctuation after it, and without a closing bracket it did not open: "(see ADDRESS)".
function withoutTrailing(address) {
  address = address.replace(NOT_AN_ADDRESS_END, "");
  while (address.endsWith(")") && address.split("(").length < address.split(")").length) {
    address = address.slice(0, -1).replace(NOT_AN_ADDRESS_END, "");
  }
  return address;
}

function plainText(line) {
  return (typeof line === "string" ? [line] : line).map((part) => (typeof part === "string" ? part : part.name)).join("");
}

function nameSpan(who) {
  const span = document.createElement("bdi"); // a right-to-left name stays in its place on the line
  span.className = "name";
  if (who.colour) span.dataset.colour = who.colour;
  span.textContent = who.name;
  return span;
}

// The panel beside the chat.

function roomTitle(room) {
  return room.toLowerCase() === "lobby" ? "the lobby" : room;
}

function showRooms(rooms) {
  const list = $("rooms");
  list.replaceChildren(
    ...rooms.map((room) => {
      const button = document.createElement("button");
      button.type = "button";
      const here = page.me && room.name === page.me.room;
      button.setAttribute("aria-current", here ? "true" : "false");
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = ` (${room.count}${room.locked ? ", locked" : ""})`;
      button.append(isolated(room.name), count);
      const where = here ? "You are here" : room.locked ? `${room.name} is locked: /join ${room.name} KEY` : `Join ${room.name}`;
      button.title = room.topic ? `${where}. Topic: ${room.topic}` : where;
      button.addEventListener("click", () => {
        if (here) {
          closeSide();
        } else if (room.locked) {
          $("say").value = `/join ${room.name} `; // its key goes after
          closeSide();
        } else {
          sendLine(`/join ${room.name}`);
          closeSide();
        }
      });
      const li = document.createElement("li");
      li.append(button);
      return li;
    }),
  );
}

function showMembers(message) {
  $("members").replaceChildren(
    ...message.names.map((who) => {
      page.names.set(who.name, who.colour);
      const button = document.createElement("button");
      button.type = "button";
      button.append(nameSpan(who));
      if (who.name === message.owner) button.append(document.createTextNode(" (owner)"));
      const isMe = page.me && who.name === page.me.name;
      button.title = isMe ? "You" : `Send ${who.name} a private message`;
      button.addEventListener("click", () => {
        if (!isMe) {
          $("say").value = `/msg ${who.name} `;
        }
        closeSide();
      });
      const li = document.createElement("li");
      li.append(button);
      return li;
    }),
  );
  const more = message.count - message.names.length;
  $("members-more").textContent = more > 0 ? `and ${more} more` : "";
}

function toggleSide() {
  const open = $("side").classList.toggle("open");
  $("side-toggle").setAttribute("aria-expanded", String(open));
  if (open) $("side").querySelector("button")?.focus();
}

function closeSide() {
  $("side").classList.remove("open");
  $("side-toggle").setAttribute("aria-expanded", "false");
  $("say").focus();
}

// The input line: Enter sends, Up and Down go through what was sent, Tab completes.

function submitSay(submit) {
  submit.preventDefault();
  const input = $("say");
  const text = input.value;
  if (!page.socket && page.leaving) {
    page.tries = 0;
    connect(); // after a kick or /quit, Enter comes back
    return;
  }
  if (!text.trim()) return;
  if (!page.online || !sendLine(text)) {
    showStatus("Not connected: your line is kept, and can be sent once the server is back.");
    return;
  }
  // Lines with a password in them are not kept for Up and Down.
  if (!SECRET_COMMAND.test(text) && page.sent[page.sent.length - 1] !== text) page.sent.push(text);
  page.recall = null;
  input.value = "";
}

function keyDown(key) {
  const input = $("say");
  if (key.key === "ArrowUp" || key.key === "ArrowDown") {
    if (page.sent.length === 0) return;
    key.preventDefault();
    const step = key.key === "ArrowUp" ? -1 : 1;
    const at = (page.recall ?? page.sent.length) + step;
    page.recall = Math.max(0, Math.min(page.sent.length, at));
    input.value = page.sent[page.recall] ?? "";
  } else if (key.key === "Tab" && !key.shiftKey && input.value) {
    key.preventDefault();
    complete(input);
  } else {
    page.completing = null;
  }
}

function complete(input) {
  if (!page.completing) {
    const before = input.value.slice(0, input.selectionStart);
    const start = before.lastIndexOf(" ") + 1;
    const word = before.slice(start);
    const choices = candidates(word, start === 0).filter((choice) => choice !== word);
    if (choices.length === 0) return;
    page.completing = { start, end: input.selectionStart, choices, next: 0 };
  }
  const c = page.completing;
  const choice = c.choices[c.next % c.choices.length];
  c.next += 1;
  const suffix = c.start === 0 && /^[/@!]/.test(choice) ? " " : "";
  input.value = input.value.slice(0, c.start) + choice + suffix + input.value.slice(c.end);
  c.end = c.start + choice.length + suffix.length;
  input.setSelectionRange(c.end, c.end);
}

function candidates(word, first) {
  const lower = word.toLowerCase();
  const names = [...page.names.keys()].filter((name) => name.toLowerCase().startsWith(lower.replace(/^@/, "")));
  if (first && /^[/@!]/.test(word)) {
    const commands = page.commands.filter((command) => command.startsWith(lower));
    return word.startsWith("@") ? [...commands, ...names.map((name) => `@${name}`)] : commands;
  }
  return names;
}

// The page comes and goes from view: its title counts what it missed.

function visibility() {
  if (!document.hidden) {
    page.unseen = 0;
    document.title = "chatroom";
  }
}

window.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", submitLogin);
  $("name").addEventListener("input", nameTyped);
  $("say-form").addEventListener("submit", submitSay);
  $("say").addEventListener("keydown", keyDown);
  $("side-toggle").addEventListener("click", toggleSide);
  document.addEventListener("visibilitychange", visibility);
  document.addEventListener("keydown", (key) => {
    if (key.key === "Escape") closeSide();
  });
  $("log").addEventListener("click", () => {
    if (!window.getSelection().toString()) $("say").focus();
  });
  window.addEventListener("beforeunload", () => {
    page.leaving = true;
  });
  page.tries = 0;
  connect();
});
