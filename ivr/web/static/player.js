// Replay: the <audio> source is set only when the supervisor presses play, with the
// reason they typed; the server decrypts, audits and streams. No inline script (CSP).
"use strict";
document.querySelectorAll("form.replay").forEach(function (form) {
  var card = form.closest(".player");
  var audio = card.querySelector("audio");
  var status = card.querySelector(".status");
  var say = function (text, bad) {
    status.textContent = text;
    status.classList.toggle("problem", !!bad);
  };
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var params = new URLSearchParams({
      t: form.dataset.token,
      reason: form.elements.reason.value.trim()
    });
    if (form.dataset.incomplete === "1") params.set("allow_incomplete", "1");
    say("Decrypting…");
    audio.src = form.dataset.src + "?" + params.toString();
    audio.play().catch(function () { /* reported by the error event below */ });
  });
  audio.addEventListener("playing", function () {
    say("Playing. This replay is recorded in the audit log with your reason.");
  });
  audio.addEventListener("ended", function () { say("Finished."); });
  audio.addEventListener("error", function () {
    if (!audio.getAttribute("src")) return;
    say("The recording could not be played: it may be damaged, its key may be retired, " +
        "or your session ended. The attempt is in the audit log.", true);
  });
});
