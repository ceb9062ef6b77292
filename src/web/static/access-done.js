// The auth flow is over and the app gave no returnURL: it learns the result by polling, so a popup
// it opened can close itself. A tab the person opened stays (window.close only works for popups).
// An ERROR stays open too: it says what the person has to do (revoke an access, try again later).
(function () {
  var outcome = document.getElementById('outcome');
  if (window.opener && !(outcome && outcome.getAttribute('data-outcome') === 'ERROR')) window.setTimeout(function () { window.close(); }, 1500);
})();
