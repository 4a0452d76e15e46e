// Progressive enhancement only: every page works without it.
// - the queue refreshes itself every few seconds;
// - after an action, the story page asks until the site shows it, then says so.
"use strict";
(function () {
  const queue = document.getElementById("queue-live");
  if (queue) {
    const refresh = async () => {
      try {
        const response = await fetch(queue.dataset.fragment, { credentials: "same-origin" });
        if (response.ok) queue.innerHTML = await response.text();
      } catch (e) { /* the next tick tries again */ }
    };
    setInterval(refresh, 3000);
  }
  const done = document.getElementById("done");
  if (done && done.dataset.onSite === "no") {
    const root = document.querySelector('link[rel="stylesheet"]').getAttribute("href").replace(/static\/desk\.css$/, "");
    const url = root + "api/v1/stories/" + done.dataset.story + "/actions/" + done.dataset.action;
    const started = Date.now();
    const ask = async () => {
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        const state = await response.json();
        if (state.on_site) {
          const at = new Date(state.on_site_at * 1000).toISOString().replace("T", " ").slice(0, 19);
          done.textContent = "Done: on the site since " + at + " UTC (" +
            ((state.on_site_at - state.requested_at)).toFixed(1) + " s after you asked).";
          done.dataset.onSite = "yes";
          return;
        }
      } catch (e) { /* ask again */ }
      if (Date.now() - started < 60000) setTimeout(ask, 500);
      else done.textContent = "Sent, but the site has not shown it after a minute: see the queue.";
    };
    setTimeout(ask, 300);
  }
})();
