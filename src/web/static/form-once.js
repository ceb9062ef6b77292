// Each form of a page is sent once. A double click (or a second press while the answer is on its
// way) would send it again, and the browser drops the first answer for the second: on the support
// confirm page that first answer carried the session's credential, and the second only finds the
// code spent. So a form's later submits are ignored until the page is shown again.
//
// An enhancement only: without script the forms still work. Nothing is disabled (a disabled
// submitter is left out of the form data, and the decision is its name and value); the form is
// marked busy (aria-busy, and the look of pairgate.css) instead.
//
// Left alone: a submit a page's own script handles (it prevents the default, as the support chat
// does for every message), a form that opens in another window (target), a dialog's form.
//
// Sent and still on this page after REARM_MS, the form may be sent again: its answer is not coming
// to this page (the person stopped the navigation with Esc, the network lost it, or it was a 204),
// and a form that ignores every press from then on only leaves a reload. Real answers take far
// less, so a double press is still sent once.
(function () {
  'use strict';
  var SENT = 'data-sent';
  var REARM_MS = 15000;

  /** Lets `form` be sent again. */
  function rearm(form) {
    form.removeAttribute(SENT);
    form.removeAttribute('aria-busy');
  }

  /** Whether this submit replaces the page (the only case where a second one loses the first). */
  function leavesPage(form, submitter) {
    var method = (submitter && submitter.getAttribute('formmethod')) || form.getAttribute('method') || '';
    if (method.toLowerCase() === 'dialog') return false;
    var target = (submitter && submitter.getAttribute('formtarget')) || form.getAttribute('target') || '';
    return target === '' || target.toLowerCase() === '_self';
  }

  // Bubbling to the document, so a page's own handlers on the form have run first.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (event.defaultPrevented || !(form instanceof window.HTMLFormElement)) return;
    if (!leavesPage(form, event.submitter)) return;
    if (form.hasAttribute(SENT)) {
      event.preventDefault();
      return;
    }
    form.setAttribute(SENT, '');
    form.setAttribute('aria-busy', 'true');
    window.setTimeout(function () { rearm(form); }, REARM_MS);
  });

  // Shown again from the back/forward cache: the page is as it was left, the forms still marked
  // sent; the person may answer again (the server says if the answer no longer counts).
  window.addEventListener('pageshow', function (event) {
    if (!event.persisted) return;
    var sent = document.querySelectorAll('form[' + SENT + ']');
    for (var i = 0; i < sent.length; i += 1) rearm(sent[i]);
  });
})();
