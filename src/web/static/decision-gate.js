// Double-clickjacking: another site's page asks for a double click and, on its first press, swaps a
// window under the pointer (closes its popup to uncover this page, loaded behind it; brings it to
// the front; opens or navigates a window to it), so that the second press lands on a decision that
// grants something to someone else (Accept, Approve, Confirm). The page is a top-level window:
// frame-ancestors and X-Frame-Options do not apply. So a pointer press on the buttons of a form
// marked `data-decision-gate` counts only once this page has seen a gesture of its own since it was
// last left (blur, hidden): the pointer moving over it, or a key pressed on it. When it is shown
// (loaded anew, the focus back, visible again, restored from the back/forward cache) what comes in
// the first SETTLE_MS is not counted, so that the pointer's tremble between a double click's two
// presses is no gesture. A touch press, or a pen's with no hover, counts once the page has been
// shown TOUCH_MS.
//
// Only pointer presses are held back (a click with a `detail`, its press count): a button pressed
// from the keyboard or by assistive technology (click.detail 0) cannot be double-clickjacked, and
// the page gives no button the keyboard's focus (keyjacking), so those always count. Nothing is
// marked disabled (nor aria-disabled): a screen reader in browse mode sends the page no key before
// it presses a button, which it would announce as unavailable though its press counts.
//
// A press held back is told, once, with the text the form's `data-decision-gate` gives (in the
// page's language), after the form.
//
// An enhancement only: without script the buttons work as they always did.
(function () {
  'use strict';
  if (!window.PointerEvent) return;
  var SETTLE_MS = 500;
  var TOUCH_MS = 500;

  // Whether the page has seen a gesture of its own since it was last left.
  var gesture = false;
  // When the page was last shown (loaded, or back), and until when gestures are not counted. A page
  // loaded anew is shown too: a window navigated to it by a double click's first press (or opened
  // focused) has the pointer trembling over it before the second, and gets no focus event. Counted
  // from now, when this script runs, not from the navigation's start (performance.now()'s zero): the
  // page that started the navigation stays on screen until this one replaces it, and another site
  // can spend as long as it likes there (a slow redirect of its own) before this page shows.
  var shownAt = now();
  var quietUntil = shownAt + SETTLE_MS;
  // Whether the press going down may decide.
  var pressCounts = false;

  function now() {
    return window.performance.now();
  }

  function visible() {
    return document.visibilityState === 'visible';
  }

  /**
   * The page is left (hidden, or another window has the focus): a new gesture is needed, and the
   * pointer moving over it from now on is one (another window has the focus, not this page's).
   */
  function leave() {
    gesture = false;
    quietUntil = 0;
  }

  /**
   * The page is shown again (the focus back, visible again): a window uncovered or brought to the
   * front under the pointer, as a page loaded anew is at the start. A gesture seen before (the
   * pointer moving over the page while another window had the focus) still counts; what comes in
   * the next SETTLE_MS does not.
   */
  function back() {
    shownAt = now();
    quietUntil = shownAt + SETTLE_MS;
  }

  function counts() {
    return visible() && now() >= quietUntil;
  }

  // The browser's own events only (a page's script may fire look-alikes: form-once.js's tests do).
  function trusted(handle) {
    return function (event) {
      if (event.isTrusted) handle(event);
    };
  }
  window.addEventListener('blur', trusted(leave));
  window.addEventListener('pagehide', trusted(leave));
  window.addEventListener('focus', trusted(back));
  // Run in the head, before the body is read: the buttons show once it is, so the quiet of a page
  // loaded anew starts again then (a body that came long after its head would have spent it).
  document.addEventListener('DOMContentLoaded', trusted(back));
  document.addEventListener('visibilitychange', trusted(function () {
    if (visible()) back();
    else leave();
  }));
  window.addEventListener('pageshow', trusted(function (event) {
    if (!event.persisted) return;
    leave();
    back();
  }));

  window.addEventListener('pointermove', trusted(function (event) {
    if (event.pointerType !== 'mouse' && event.pointerType !== 'pen') return;
    if (counts()) gesture = true;
  }), true);
  window.addEventListener('keydown', trusted(function (event) {
    // Pressed on this page: one sent while the focus was elsewhere is not the person's answer to it.
    if (!event.repeat && document.hasFocus() && counts()) gesture = true;
  }), true);

  // Read at the press, not at the click: a move between the two (the pointer trembling) must not
  // make a swapped-in press count.
  window.addEventListener('pointerdown', trusted(function (event) {
    var noHover = event.pointerType === 'touch' || event.pointerType === 'pen';
    pressCounts = gesture || (noHover && visible() && now() - shownAt >= TOUCH_MS);
  }), true);

  window.addEventListener('click', trusted(function (event) {
    // A button pressed from the keyboard or by assistive technology: no pointer, no count.
    if (event.detail === 0 || pressCounts) return;
    var target = event.target;
    var button = target instanceof window.Element ? target.closest('button, input[type="submit"], input[type="image"]') : null;
    if (!button || !button.form || !button.form.hasAttribute('data-decision-gate')) return;
    // Not this page's press: it does nothing (no submit; form-once.js never sees it).
    event.preventDefault();
    event.stopImmediatePropagation();
    tell(button.form);
  }), true);

  // A person whose pointer rested where the button appeared (the page loaded under it after a
  // sign-in, say) and who pressed without moving would see a button that does not work: the form's
  // `data-decision-gate` text, shown after it once, says what to do. Its place is after the form, so
  // the form's own buttons do not move under the pointer.
  function tell(form) {
    var text = form.getAttribute('data-decision-gate');
    if (!text || (form.nextElementSibling && form.nextElementSibling.hasAttribute('data-decision-gate-hint'))) return;
    var hint = document.createElement('p');
    hint.className = 'muted decision-gate-hint';
    hint.setAttribute('data-decision-gate-hint', '');
    hint.setAttribute('role', 'status');
    hint.textContent = text;
    form.insertAdjacentElement('afterend', hint);
  }
})();
