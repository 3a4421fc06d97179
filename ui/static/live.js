// Live refresh for the localjobs dashboard: every few seconds, fetch this
// page's main content (?fragment=1, server-rendered) and swap it in. It
// waits while the tab is hidden, while text is selected, while focus is
// inside the content (so keyboard users keep their place) and while the
// user has paused it. Without this script a <noscript> meta refresh
// reloads the page instead.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !window.fetch || !window.URL) {
    return;
  }
  var every = (parseInt(main.getAttribute("data-refresh"), 10) || 5) * 1000;
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  var button = document.getElementById("pause");
  var paused = false;
  var swaps = 0;

  if (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      paused = !paused;
      button.setAttribute("aria-pressed", String(paused));
      button.textContent = paused ? "Resume updates" : "Pause updates";
      if (live) {
        live.classList.toggle("paused", paused);
      }
    });
  }

  function busy() {
    var sel = window.getSelection ? String(window.getSelection()) : "";
    var a = document.activeElement;
    return sel.length > 0 || (a && a !== document.body && main.contains(a));
  }

  function say(msg) {
    if (status && status.textContent !== msg) {
      status.textContent = msg;
    }
  }

  // Logs stay scrolled to their end, unless the reader scrolled up.
  function logScroll() {
    var out = [];
    main.querySelectorAll("pre.logtext").forEach(function (p) {
      out.push(p.scrollHeight - p.scrollTop - p.clientHeight < 4 ? -1 : p.scrollTop);
    });
    return out;
  }
  function restoreLogScroll(saved) {
    main.querySelectorAll("pre.logtext").forEach(function (p, i) {
      var s = i < saved.length ? saved[i] : -1;
      p.scrollTop = s < 0 ? p.scrollHeight : s;
    });
  }
  restoreLogScroll([]);

  function refresh() {
    if (paused || document.hidden || busy()) {
      return later();
    }
    var u = new URL(window.location.href);
    u.searchParams.set("fragment", "1");
    fetch(u.toString(), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("the dashboard answered " + r.status);
        }
        return r.text();
      })
      .then(function (html) {
        if (busy()) {
          return;
        }
        var saved = logScroll();
        main.innerHTML = html;
        restoreLogScroll(saved);
        swaps++;
        main.setAttribute("data-refreshed", String(swaps));
        say("");
      })
      .catch(function () {
        say("Live updates: the dashboard does not answer; retrying. What you see may be out of date.");
      })
      .then(later);
  }

  function later() {
    window.setTimeout(refresh, every);
  }
  later();
})();
