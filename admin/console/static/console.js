// Refreshes the page's live part (#live) in place every few seconds, so the
// operator keeps their scroll position, filters and selection. It pauses
// while the tab is hidden or the operator is using the live part (a
// focused control, a ticked box, selected text). A refresh does not count as activity:
// an unattended console still signs out after its idle timeout.
(function () {
  "use strict";
  // "Select all" on the dead letters page.
  document.addEventListener("change", function (e) {
    if (e.target.id !== "select-all") return;
    var boxes = document.querySelectorAll('input[name="dl"]');
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = e.target.checked;
  });
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.DOMParser) return;
  // data-final: nothing on this page changes any more (a finished import).
  if (live.hasAttribute("data-final")) return;
  var every = parseInt(live.getAttribute("data-refresh-ms"), 10) || 5000;
  function busy() {
    var a = document.activeElement;
    var sel = window.getSelection();
    return (a && a !== document.body && live.contains(a)) || live.querySelector("input:checked") ||
      (sel && !sel.isCollapsed && live.contains(sel.anchorNode));
  }
  function tick() {
    if (document.hidden || busy()) return later();
    fetch(location.href, { credentials: "same-origin", headers: { "X-Console-Refresh": "1" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!fresh) { location.reload(); return; } // signed out: show the sign-in form
        if (!busy() && fresh.innerHTML !== live.innerHTML) live.innerHTML = fresh.innerHTML;
        return fresh.hasAttribute("data-final") && fresh.innerHTML === live.innerHTML; // shown: stop
      })
      .catch(function () {})
      .then(function (final) { if (!final) later(); });
  }
  function later() { setTimeout(tick, every); }
  later();
})();
