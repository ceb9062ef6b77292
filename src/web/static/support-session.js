// The session page of the support door: holds the session channel (a WebSocket to the origin) for
// the person being helped, shows its state and the messages, and ends it on request. No inline
// script: the page's CSP allows only this file.
//
// The agent credential arrives once, in the URL fragment of the redirect that follows the
// confirmation (a fragment never reaches a server, a log or a Referer). It is kept in this tab's
// sessionStorage and taken out of the address bar, so a reload, or the tab reopened, reconnects
// while the session lives. It is forgotten when the session ends. Where the browser keeps no
// storage (blocked, some private modes) the credential stays in the fragment, and the links to this
// page (the language switch) carry it along.
/* global location, history, sessionStorage, WebSocket */
(function () {
  const root = document.getElementById('support-session');
  if (!root) return;
  const status = document.getElementById('status');
  const list = document.getElementById('messages');
  const form = document.getElementById('chat');
  const input = document.getElementById('message');
  const endButton = document.getElementById('end');
  const channel = root.dataset.channel;
  const storageKey = 'pairgate.support.credential:' + channel;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Close codes of the channel (see session-channel.ts).
  const ENDED = 4000;
  const UNAUTHORIZED = 4001;
  const DUPLICATE = 4009;
  // Waits before each new try after a connection was lost (a reload's old socket may still hold
  // the session for a moment; a server may restart); then the page asks for a reload.
  const RETRY_MS = [300, 1000, 2000, 4000, 8000];
  // What the page says, in its language: the server puts the words in data-words
  // (support-i18n.ts, sessionScriptWords), so this file holds none of its own.
  let WORDS = {};
  try {
    WORDS = JSON.parse(root.dataset.words || '{}');
  } catch {
    // Unreadable words: each message shows its key rather than nothing.
  }
  // The message `key` with `{name}` filled from `values` (its text, never HTML).
  function say(key, values) {
    return String(WORDS[key] ?? key).replace(/\{(\w+)\}/g, function (whole, name) {
      return values && name in values ? String(values[name]) : whole;
    });
  }
  // What the page says once the session ended, by who ended it (the `ended` message's reason).
  const ENDED_BY = { supporter: 'supporterEnded', deleted: 'supporterEnded', agent: 'youEnded', expired: 'expired' };

  let socket;
  let ended = false;
  let retries = 0;

  function readStored() {
    try {
      return sessionStorage.getItem(storageKey) || '';
    } catch {
      return '';
    }
  }
  function store(value) {
    try {
      sessionStorage.setItem(storageKey, value);
      return true;
    } catch {
      return false;
    }
  }
  function forget() {
    try {
      sessionStorage.removeItem(storageKey);
    } catch {
      // Storage unavailable: nothing was kept.
    }
  }

  // The credential: from the fragment (just confirmed), else from this tab's storage (a reload).
  let credential = '';
  const fragment = /^#credential=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (fragment) {
    credential = fragment[1];
    // Out of the address bar (and the history entry) once kept; without storage it stays, so
    // that a reload still works.
    if (store(credential)) history.replaceState(history.state, '', location.pathname + location.search);
    else keepFragmentOnLinks(location.hash);
  } else {
    credential = readStored();
  }

  // Without storage the credential lives only in the fragment, and a link to this page (the
  // language switch, `?lang=xx`) leads to an address without it: the page there could not join.
  // Such links carry the fragment too (still never sent to the server); a link to a spot on the
  // page (the skip link, `#main`) would replace it, so it moves focus there itself instead.
  function keepFragmentOnLinks(hash) {
    document.querySelectorAll('a[href]').forEach(function (link) {
      const raw = link.getAttribute('href');
      if (raw.charAt(0) === '#') {
        link.addEventListener('click', function (event) {
          const target = document.getElementById(decodeURIComponent(raw.slice(1)));
          if (!target) return;
          event.preventDefault();
          target.scrollIntoView();
          target.focus();
        });
        return;
      }
      const url = new URL(link.href);
      if (url.origin !== location.origin || url.pathname !== location.pathname || url.hash) return;
      url.hash = hash;
      link.href = url.pathname + url.search + url.hash;
    });
  }

  function show(text) {
    status.textContent = text;
  }
  function add(who, text) {
    const item = document.createElement('li');
    const name = document.createElement('strong');
    name.textContent = say('says', { who: who });
    item.appendChild(name);
    item.appendChild(document.createTextNode(text));
    list.appendChild(item);
  }
  function showMessage(message) {
    add(say(message.from === 'agent' ? 'you' : 'supporter'), String(message.text));
  }
  function enable(on) {
    form.querySelectorAll('button, input').forEach(function (el) {
      el.disabled = !on;
    });
  }
  function finish(text) {
    ended = true;
    forget();
    // Read before the controls are disabled and hidden, which drops the focus they hold.
    const focusWasInForm = form.contains(document.activeElement);
    enable(false);
    // Controls that can do nothing more are not shown under the words that say so.
    form.hidden = true;
    show(text);
    // A keyboard or screen-reader user typing (or on End session) is not left at the top of the
    // page: the focus goes to the words that say the session ended.
    if (focusWasInForm) {
      status.tabIndex = -1;
      status.focus();
    }
  }

  function connect() {
    socket = new WebSocket(scheme + '//' + location.host + channel);
    socket.addEventListener('open', function () {
      // history: the chat so far, so that a reloaded page shows it again.
      socket.send(JSON.stringify({ type: 'hello', credential: credential, agent: 'browser', history: true }));
    });
    socket.addEventListener('message', function (event) {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      // An `error` message is not shown: its text is the channel's, for programs (English); the
      // close that follows it says what happened, in the page's words.
      if (message.type === 'welcome') {
        retries = 0;
        enable(true);
        show(say(message.supporterAttached === false ? 'connectedAlone' : 'connected'));
      } else if (message.type === 'peer_left' && message.peer === 'supporter') {
        // The session goes on: the person may wait for the supporter, until the session expires.
        const until = new Date(String(message.expiresAt));
        const locale = document.documentElement.lang || undefined;
        const at = isNaN(until.getTime()) ? say('untilEnd') : until.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
        show(say('supporterLeft', { time: at }));
      } else if (message.type === 'peer_joined' && message.peer === 'supporter') {
        // `first`: no supporter was attached before in this session, so it is not a return.
        show(say(message.first === true ? 'supporterJoined' : 'supporterBack'));
      } else if (message.type === 'history' && Array.isArray(message.messages)) {
        // Sent after each welcome: it replaces what the list shows (a reconnect would repeat it).
        list.replaceChildren();
        message.messages.forEach(showMessage);
      } else if (message.type === 'message') showMessage(message);
      else if (message.type === 'ended') finish(say(ENDED_BY[message.reason] || 'ended'));
    });
    socket.addEventListener('close', function (event) {
      enable(false);
      if (ended) return;
      if (event.code === ENDED) return finish(say('ended'));
      if (event.code === UNAUTHORIZED) return finish(say('refused'));
      if (retries >= RETRY_MS.length) {
        show(say(event.code === DUPLICATE ? 'otherTab' : 'lost'));
        return;
      }
      show(say('reconnecting'));
      setTimeout(connect, RETRY_MS[retries++]);
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: 'message', text: text }));
    add(say('you'), text);
    input.value = '';
  });
  endButton.addEventListener('click', function () {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'end' }));
    finish(say('youEnded'));
  });

  if (!credential) {
    // Opened in another tab, or the tab's storage was cleared: this tab cannot join the session.
    finish(say('noKey'));
    return;
  }
  // The page comes with an empty status (a page without JavaScript would never connect).
  show(say('connecting'));
  connect();
})();
