// The session page of the support door: holds the session channel (a WebSocket to the origin) for
// the person being helped, shows its state and the messages, and ends it on request. No inline
// script: the page's CSP allows only this file.
/* global location, WebSocket */
(function () {
  const root = document.getElementById('support-session');
  if (!root) return;
  const status = document.getElementById('status');
  const list = document.getElementById('messages');
  const form = document.getElementById('chat');
  const input = document.getElementById('message');
  const endButton = document.getElementById('end');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(scheme + '//' + location.host + root.dataset.channel);
  let ended = false;

  function show(text) {
    status.textContent = text;
  }
  function add(who, text) {
    const item = document.createElement('li');
    const name = document.createElement('strong');
    name.textContent = who + ': ';
    item.appendChild(name);
    item.appendChild(document.createTextNode(text));
    list.appendChild(item);
  }

  socket.addEventListener('open', function () {
    socket.send(JSON.stringify({ type: 'hello', credential: root.dataset.credential, agent: 'browser' }));
  });
  socket.addEventListener('message', function (event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === 'welcome') show('Session connected. Your supporter can now help you.');
    else if (message.type === 'message') add(message.from === 'agent' ? 'You' : 'Supporter', String(message.text));
    else if (message.type === 'ended') {
      ended = true;
      show(message.reason === 'expired' ? 'The session has expired.' : 'The session has ended.');
    } else if (message.type === 'error') show(String(message.message));
  });
  socket.addEventListener('close', function () {
    if (!ended) show('The connection to the supporter was lost.');
    form.querySelectorAll('button, input').forEach(function (el) {
      el.disabled = true;
    });
  });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: 'message', text: text }));
    add('You', text);
    input.value = '';
  });
  endButton.addEventListener('click', function () {
    ended = true;
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'end' }));
    show('The session has ended.');
  });
})();
