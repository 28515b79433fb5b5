// Live calls: one EventSource on /live/events; rows appear, change and leave without a reload.
(function () {
  "use strict";
  var body = document.querySelector("#live-calls tbody");
  var empty = document.getElementById("live-empty");
  var status = document.getElementById("live-status");
  var rows = {};
  // Delays (ms) between the server's stamp and arrival here: the bench reads them.
  window.ivrLiveDelays = [];

  function seconds(call) { return Math.max(0, Date.now() / 1000 - call.started); }
  function clock(s) { s = Math.round(s); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); }
  function cell(tr, i, text) { tr.cells[i].textContent = text; }
  function show() { empty.hidden = Object.keys(rows).length > 0; }

  function render(call) {
    var tr = rows[call.id];
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.call = call.id;
      for (var i = 0; i < 7; i++) tr.appendChild(document.createElement("td"));
      tr.cells[0].className = "num";
      tr.cells[4].className = "num elapsed";
      var link = document.createElement("a");
      link.href = "/calls/" + encodeURIComponent(call.id);
      link.className = "open";
      link.textContent = "Open";
      tr.cells[6].appendChild(link);
      rows[call.id] = tr;
      body.appendChild(tr);
    }
    tr.call = call;
    cell(tr, 0, call.caller);
    cell(tr, 1, call.transport);
    cell(tr, 2, call.language || "—");
    cell(tr, 3, call.node || "—");
    cell(tr, 4, clock(seconds(call)));
    var d = tr.cells[5];
    d.textContent = call.distress === null ? "—" : call.distress.toFixed(2);
    if (call.escalated) { d.textContent += " · escalated 已升级"; }
    tr.classList.toggle("distressed", call.escalated || (call.distress !== null && call.distress >= 0.7));
    show();
  }

  function end(message) {
    var tr = rows[message.call.id];
    if (!tr) return;
    delete rows[message.call.id];
    tr.classList.add("ended");
    cell(tr, 3, "ended · 已结束: " + (message.outcome || "?") + (message.queue ? " → " + message.queue : ""));
    setTimeout(function () { tr.remove(); show(); }, 4000);
  }

  function stamp(message) {
    if (message.at) {
      window.ivrLiveDelays.push(Date.now() - message.at * 1000);
      if (window.ivrLiveDelays.length > 100000) window.ivrLiveDelays.shift();
    }
  }

  var source = new EventSource("/live/events");
  source.addEventListener("open", function () {
    status.textContent = "Live · 实时";
    status.className = "badge self_served";
  });
  source.addEventListener("error", function () {
    status.textContent = "Reconnecting… · 重新连接中";
    status.className = "badge failed";
  });
  source.addEventListener("snapshot", function (e) {
    var data = JSON.parse(e.data);
    Object.keys(rows).forEach(function (id) { rows[id].remove(); });
    rows = {};
    data.calls.forEach(render);
    show();
  });
  ["start", "update"].forEach(function (kind) {
    source.addEventListener(kind, function (e) { var m = JSON.parse(e.data); stamp(m); render(m.call); });
  });
  source.addEventListener("end", function (e) { var m = JSON.parse(e.data); stamp(m); end(m); });
  setInterval(function () {
    Object.keys(rows).forEach(function (id) { cell(rows[id], 4, clock(seconds(rows[id].call))); });
  }, 1000);
  show();
})();
