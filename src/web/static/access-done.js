// The auth flow is over and the app gave no returnURL: it learns the result by polling, so a popup
// it opened can close itself. A tab the person opened stays (window.close only works for popups).
if (window.opener) window.setTimeout(function () { window.close(); }, 1500);
