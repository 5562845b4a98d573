// Shipyard dashboard: the log tail follows new lines until the reader scrolls up, and keeps at
// most MAX_LINES of them in the page (earlier ones stay one click away); a line at the top says
// when a refresh or the live connection fails. Everything else is htmx.
(function () {
  "use strict";
  var MAX_LINES = 1000;
  var SLACK_PX = 24;

  function atBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight <= SLACK_PX;
  }

  function followButton(box) {
    return document.querySelector('[data-follow="' + box.id + '"]');
  }

  function setFollowing(box, following) {
    box.dataset.following = following ? "yes" : "no";
    var button = followButton(box);
    if (button) button.hidden = following;
  }

  function trim(box) {
    var lines = box.querySelectorAll("li.line");
    var extra = lines.length - MAX_LINES;
    if (extra <= 0) return;
    for (var i = 0; i < extra; i++) lines[i].remove();
    var first = box.querySelector("li.line");
    var earlier = box.querySelector("li.earlier");
    if (!earlier) {
      earlier = document.createElement("li");
      earlier.className = "earlier";
      box.prepend(earlier);
    }
    var url = box.dataset.logUrl + "?before=" + first.dataset.id;
    earlier.innerHTML = "";
    var link = document.createElement("a");
    link.href = url;
    link.textContent = "Show earlier lines";
    link.setAttribute("hx-get", url);
    link.setAttribute("hx-target", "closest li");
    link.setAttribute("hx-swap", "outerHTML");
    earlier.appendChild(link);
    if (window.htmx) window.htmx.process(earlier);
  }

  function setUp(box) {
    box.scrollTop = box.scrollHeight;
    setFollowing(box, true);
    box.addEventListener("scroll", function () { setFollowing(box, atBottom(box)); });
    var button = followButton(box);
    if (button) {
      button.addEventListener("click", function () {
        box.scrollTop = box.scrollHeight;
        setFollowing(box, true);
      });
    }
  }

  function trouble(text) {
    var line = document.getElementById("trouble");
    if (!line) return;
    line.textContent = text || "";
    line.hidden = !text;
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    trouble("Could not refresh part of this page: the server answered " + xhr.status + ". Reload to try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    trouble("Could not reach Shipyard; it may have stopped. Reload when it is back.");
  });
  document.addEventListener("htmx:sseError", function () {
    trouble("Live updates lost their connection; reconnecting…");
  });
  document.addEventListener("htmx:sseOpen", function () { trouble(""); });

  // Details (an issue's node, a timeline entry) a reader opened or closed stay so when htmx
  // redraws the part of the page they are in; their ids name them across redraws.
  var toggled = {};
  document.addEventListener("click", function (event) {
    var summary = event.target.closest && event.target.closest("summary");
    if (!summary || event.target.closest("a, button, input")) return;
    var details = summary.parentElement;
    if (details && details.id) toggled[details.id] = !details.open;
  });

  // The chat shows its newest messages, unless its reader scrolled up to earlier ones.
  var chatAtBottom = true;
  function chatToBottom() {
    var log = document.getElementById("chat-log");
    if (log && chatAtBottom) log.scrollTop = log.scrollHeight;
  }
  document.addEventListener("htmx:beforeSwap", function () {
    var log = document.getElementById("chat-log");
    if (log) chatAtBottom = atBottom(log);
  });
  document.addEventListener("htmx:afterSwap", function () {
    Object.keys(toggled).forEach(function (id) {
      var details = document.getElementById(id);
      if (details && details.tagName === "DETAILS" && details.open !== toggled[id]) details.open = toggled[id];
    });
    chatToBottom();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-autoscroll]").forEach(setUp);
    chatToBottom();
  });

  // New lines arrive over SSE; earlier ones are swapped in at the top (keep the reader's place).
  document.addEventListener("htmx:sseMessage", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-autoscroll]")) return;
    trim(box);
    if (box.dataset.following === "yes") box.scrollTop = box.scrollHeight;
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.target.matches || !event.target.matches("li.earlier")) return;
    var box = event.target.closest("[data-autoscroll]");
    if (box) box.dataset.fromBottom = String(box.scrollHeight - box.scrollTop);
  });
  document.addEventListener("htmx:afterSettle", function () {
    var box = document.querySelector("[data-autoscroll][data-from-bottom]");
    if (!box) return;
    box.scrollTop = box.scrollHeight - Number(box.dataset.fromBottom);
    delete box.dataset.fromBottom;
  });
})();
