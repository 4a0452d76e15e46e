// Progressive enhancement only: every page works without it.
// - the queue refreshes itself every few seconds;
// - after an action, the story page asks until the site shows it, then shows the story again.
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
          // The page again, as the site now is: its tags, links and timeline.
          window.location.reload();
          return;
        }
      } catch (e) { /* ask again */ }
      if (Date.now() - started < 60000) setTimeout(ask, 500);
      else done.textContent = "Sent, but the site has not shown it after a minute: see the queue.";
    };
    setTimeout(ask, 300);
  }
})();
