// Hotline softphone: WebRTC (DTLS-SRTP) to POST /api/webrtc/offer; keys and events over
// the "hotline" data channel (protocol: ivr/telephony/webrtc/events.py). No build step.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = { pc: null, channel: null, stream: null, maxLevel: 0, events: [], ended: false };
  window.hotlineSoftphone = state; // for tests and curious people

  const status = (text) => { $("status").textContent = text; };

  function line(kind, who, text) {
    const li = document.createElement("li");
    li.className = kind;
    if (who) {
      const w = document.createElement("span");
      w.className = "who";
      w.textContent = who;
      li.appendChild(w);
    }
    li.appendChild(document.createTextNode(text));
    $("transcript").appendChild(li);
    li.scrollIntoView({ block: "nearest" });
  }

  function inCall(on) {
    $("call").disabled = on;
    $("hangup").disabled = !on;
    $("mute").disabled = !on;
    $("language").disabled = on;
    document.querySelectorAll(".keypad button").forEach((b) => { b.disabled = !on; });
  }

  function onEvent(msg) {
    state.events.push(msg);
    switch (msg.type) {
      case "hello":
        status(msg.busy ? "All lines are busy." : "Connected (encrypted: DTLS-SRTP).");
        break;
      case "prompt": line("hotline", "Hotline:", msg.text); break;
      case "heard":
        if (msg.mode === "speech" && msg.text) line("caller", "Hotline heard you say:", msg.text);
        else if (msg.mode === "dtmf" && msg.digits) line("caller", "Hotline got key:", msg.digits);
        else if (msg.result === "no_input") line("system", "", "(Hotline heard nothing)");
        else if (msg.result === "no_match") line("system", "", "(Hotline did not understand)");
        break;
      case "transfer": line("system", "", `Transferring you to ${msg.queue}.`); break;
      case "hold": status("On hold…"); break;
      case "outcome": {
        const where = msg.queue ? ` (${msg.queue})` : "";
        line("system", "", `Call outcome: ${msg.outcome.replace("_", " ")}${where}`);
        break;
      }
      case "error": line("system", "", `Hotline refused a message: ${msg.message}`); break;
      case "bye": finish("Hotline ended the call."); break;
      default: break;
    }
  }

  function meter(stream) {
    try {
      const ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 512;
      ctx.createMediaStreamSource(stream).connect(analyser);
      const data = new Float32Array(analyser.fftSize);
      const tick = () => {
        if (state.ended) { ctx.close(); return; }
        analyser.getFloatTimeDomainData(data);
        let sum = 0;
        for (const v of data) sum += v * v;
        const rms = Math.sqrt(sum / data.length);
        state.maxLevel = Math.max(state.maxLevel, rms);
        $("level").style.width = `${Math.min(100, rms * 400)}%`;
        requestAnimationFrame(tick);
      };
      tick();
    } catch (err) { /* no WebAudio: the call still works */ }
  }

  function gatheringDone(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000); // send what we have
    });
  }

  async function call() {
    state.ended = false;
    state.events = [];
    $("transcript").textContent = "";
    inCall(true);
    status("Calling…");
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
    state.pc = pc;
    const channel = pc.createDataChannel("hotline");
    state.channel = channel;
    channel.onmessage = (e) => { try { onEvent(JSON.parse(e.data)); } catch (err) { /* */ } };
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({ audio: {
        echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      state.stream.getTracks().forEach((t) => pc.addTrack(t, state.stream));
    } catch (err) {
      line("system", "", "No microphone: you can still use the keypad.");
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    pc.ontrack = (e) => {
      const stream = e.streams[0] || new MediaStream([e.track]);
      $("remote").srcObject = stream;
      meter(stream);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") finish("The connection failed.");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringDone(pc);
    let answer;
    try {
      const resp = await fetch("/api/webrtc/offer", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp,
                               language: $("language").value }) });
      answer = await resp.json();
      if (!resp.ok) throw new Error(answer.error ? answer.error.message : resp.statusText);
    } catch (err) {
      finish(`Could not call: ${err.message}`);
      return;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    state.callId = answer.call_id;
  }

  function finish(text) {
    if (state.ended) return;
    state.ended = true;
    status(text);
    inCall(false);
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    if (state.pc) setTimeout(() => state.pc.close(), 200);
  }

  function hangup() {
    if (state.channel && state.channel.readyState === "open") {
      state.channel.send(JSON.stringify({ type: "hangup" }));
    }
    finish("You hung up.");
  }

  function press(key) {
    if (!state.channel || state.channel.readyState !== "open" || state.ended) return;
    state.channel.send(JSON.stringify({ type: "dtmf", digits: key }));
    line("caller", "You pressed:", key);
  }

  function mute() {
    if (!state.stream) return;
    const btn = $("mute");
    const muted = btn.getAttribute("aria-pressed") !== "true";
    state.stream.getAudioTracks().forEach((t) => { t.enabled = !muted; });
    btn.setAttribute("aria-pressed", String(muted));
    btn.textContent = muted ? "Unmute" : "Mute";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("call").addEventListener("click", call);
    $("hangup").addEventListener("click", hangup);
    $("mute").addEventListener("click", mute);
    document.querySelectorAll(".keypad button").forEach((b) => {
      b.addEventListener("click", () => press(b.dataset.key));
    });
    document.addEventListener("keydown", (e) => {
      if (/^[0-9*#]$/.test(e.key) && !$("hangup").disabled) press(e.key);
    });
  });
})();
