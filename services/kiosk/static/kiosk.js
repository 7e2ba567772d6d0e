/* Trợ lý 06 kiosk page.
 *
 * One citizen after another on the same PC. Everything about a conversation lives in this
 * page's memory only: the session secret, the messages, the receipt. Nothing goes to
 * localStorage, sessionStorage or cookies. "Kết thúc phiên" or the inactivity timeout tells
 * the server to end the conversation (login and answers wiped in Rasa), clears what the
 * browser could hold, and reloads a blank page, which opens a new session.
 *
 * All text, typed or received, is put on screen with textContent: never parsed as HTML.
 */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    log: $("log"), input: $("input"), send: $("send"), composer: $("composer"), typing: $("typing"),
    notice: $("notice"), counter: $("counter"), end: $("end-session"),
    warning: $("warning"), warningSeconds: $("warning-seconds"), keepGoing: $("keep-going"), endNow: $("end-now"),
    qrPanel: $("qr-panel"), qrImage: $("qr-image"), qrStatus: $("qr-status"), qrRenew: $("qr-renew"),
    qrCancel: $("qr-cancel"), printFrame: $("print-frame"),
  };

  const WELCOME = "Xin chào! Em là Trợ lý 06. Em trả lời về các thủ tục cư trú và thẻ căn cước, " +
    "giúp anh/chị khai và nộp hồ sơ trực tuyến, và tra cứu hồ sơ đã nộp.\n" +
    "Anh/chị gõ có dấu hay không dấu đều được. Khi xong, bấm \"Kết thúc phiên\" để xóa thông tin.";
  const STARTERS = [
    ["Đăng ký tạm trú cần giấy tờ gì?", "Đăng ký tạm trú cần giấy tờ gì?"],
    ["Cấp đổi thẻ căn cước", "Tôi muốn cấp đổi thẻ căn cước"],
    ["Nộp hồ sơ tạm trú", "Tôi muốn đăng ký tạm trú"],
    ["Tra cứu hồ sơ đã nộp", "Tra cứu hồ sơ của tôi"],
  ];
  const PING_EVERY_MS = 30000;
  const QR_POLL_MS = 2500;

  const state = {
    secret: null, idleMs: 180000, warningMs: 30000, maxChars: 1000,
    lastActivity: Date.now(), lastPing: Date.now(), pending: false, ending: false,
    qrTimer: null, tick: null, blobUrls: [],
  };

  // --- talking to the kiosk API ---------------------------------------------------------
  async function call(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (state.secret) headers["X-Kiosk-Session"] = state.secret;
    const response = await fetch("/kiosk/api/" + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit",
    });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (response.status === 401 && path !== "end") {
      endSession("expired");
      throw new Error("session ended");
    }
    return { ok: response.ok, status: response.status, data };
  }

  function detail(result, fallback) {
    const d = result && result.data && result.data.detail;
    return typeof d === "string" ? d : fallback;
  }

  // --- rendering (text only) -----------------------------------------------------------
  function bubble(who, text) {
    const div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    el.log.appendChild(div);
    scrollDown();
    return div;
  }

  function choices(buttons) {
    const group = document.createElement("div");
    group.className = "choices";
    for (const b of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.addEventListener("click", () => {
        if (state.pending) return;
        for (const other of group.querySelectorAll("button")) other.disabled = true;
        send(b.payload, b.title);
      });
      group.appendChild(button);
    }
    el.log.appendChild(group);
    scrollDown();
  }

  function base64Bytes(b64) {
    const raw = atob(b64);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function receipt(r) {
    const card = document.createElement("div");
    card.className = "receipt";
    const qr = document.createElement("img");
    qr.src = "data:image/png;base64," + r.qr_png_base64;
    qr.alt = "Mã QR của hồ sơ " + r.dossier_code;
    const side = document.createElement("div");
    const code = document.createElement("p");
    code.className = "code";
    code.textContent = "Mã hồ sơ: " + r.dossier_code;
    const print = document.createElement("button");
    print.type = "button";
    print.textContent = "In biên nhận";
    print.addEventListener("click", () => printReceipt(r.pdf_base64, card));
    side.append(code, print);
    card.append(qr, side);
    el.log.appendChild(card);
    scrollDown();
  }

  function printReceipt(pdfBase64, card) {
    const url = URL.createObjectURL(new Blob([base64Bytes(pdfBase64)], { type: "application/pdf" }));
    state.blobUrls.push(url);
    // a new frame each time: loading a frame that is already there would add an entry to
    // the browser's history, which the next citizen could go back to
    const frame = el.printFrame.cloneNode(false);
    frame.removeAttribute("src");
    frame.onload = () => {
      try {
        frame.contentWindow.focus();
        frame.contentWindow.print();
      } catch (_) {  // no PDF viewer on this PC: print the receipt card itself
        card.classList.add("printing");
        window.print();
        card.classList.remove("printing");
      }
    };
    frame.src = url;
    el.printFrame.replaceWith(frame);
    el.printFrame = frame;
  }

  function show(messages) {
    for (const m of messages) {
      if (m.text) bubble("bot", m.text);
      if (m.buttons && m.buttons.length) choices(m.buttons);
      if (m.receipt) receipt(m.receipt);
      if (m.login_qr && el.qrPanel.hidden) startQr();
    }
  }

  function scrollDown() { el.log.scrollTop = el.log.scrollHeight; }

  function setNotice(text) {
    el.notice.textContent = text || "";
    el.notice.hidden = !text;
  }

  function setPending(on) {
    state.pending = on;
    el.typing.hidden = !on;
    el.send.disabled = on;
  }

  // --- sending -------------------------------------------------------------------------
  async function send(text, shownAs) {
    text = text.trim();
    if (!text || state.pending || !state.secret) return;
    if (text.length > state.maxChars) {
      setNotice("Tin nhắn dài " + text.length + " ký tự, quá giới hạn " + state.maxChars +
        " ký tự. Anh/chị rút gọn giúp em; nội dung vẫn còn trong ô nhập.");
      return;
    }
    setNotice("");
    const typed = shownAs === undefined;
    const mine = bubble("user", shownAs || text);
    if (typed) el.input.value = "";
    updateCounter();
    setPending(true);
    let result;
    try {
      result = await call("POST", "message", { text });
    } catch (_) {
      result = null;
    } finally {
      setPending(false);
    }
    if (state.ending) return;
    if (result && result.ok && result.data) {
      if (result.data.delivered === false && typed) {  // not read by the bot: keep the text
        mine.remove();
        el.input.value = text;
        updateCounter();
      }
      if (result.data.delivered) hideQrUnlessAsked(result.data.messages);
      show(result.data.messages);
    } else {
      mine.remove();
      if (typed) el.input.value = text;  // nothing is lost: the citizen presses "Gửi" again
      updateCounter();
      setNotice(detail(result, "Dạ, chưa gửi được tin nhắn (mất kết nối với máy chủ). Nội dung vẫn " +
        "còn trong ô nhập; anh/chị bấm \"Gửi\" lại sau ít phút."));
    }
    el.input.focus();
  }

  function updateCounter() {
    const n = el.input.value.length;
    const near = n > state.maxChars * 0.8;
    el.counter.hidden = !near;
    el.counter.textContent = near ? n + "/" + state.maxChars + " ký tự" : "";
  }

  // --- VNeID QR login ------------------------------------------------------------------
  function hideQrUnlessAsked(messages) {
    if (!messages.some((m) => m.login_qr)) stopQr(true);
  }

  async function startQr() {
    stopQr(false);
    el.qrPanel.hidden = false;
    el.qrRenew.hidden = true;
    el.qrImage.hidden = false;
    el.qrStatus.textContent = "Đang tạo mã QR…";
    let result;
    try { result = await call("POST", "qr-login"); } catch (_) { return; }
    if (!result.ok || !result.data) {
      el.qrImage.hidden = true;
      el.qrStatus.textContent = detail(result, "Chưa tạo được mã QR; anh/chị nhắn số định danh để đăng nhập.");
      el.qrRenew.hidden = false;
      return;
    }
    el.qrImage.src = result.data.image;
    el.qrImage.dataset.payload = result.data.payload;
    el.qrStatus.textContent = "Mở ứng dụng VNeID trên điện thoại, chọn \"Quét mã QR\", rồi xác nhận đăng nhập.";
    state.qrTimer = setInterval(pollQr, QR_POLL_MS);
    scrollDown();
  }

  async function pollQr() {
    if (state.pending || state.ending) return;
    let result;
    try { result = await call("GET", "qr-login"); } catch (_) { return; }
    if (!result.ok || !result.data) return;
    const status = result.data.status;
    if (status === "approved") {
      stopQr(true);
      show(result.data.messages || []);
    } else if (status === "expired" || status === "none") {
      stopQr(false);
      el.qrImage.hidden = true;
      el.qrStatus.textContent = "Mã QR đã hết hạn. Bấm \"Tạo mã mới\", hoặc nhắn số định danh.";
      el.qrRenew.hidden = false;
    }
  }

  function stopQr(hide) {
    if (state.qrTimer) clearInterval(state.qrTimer);
    state.qrTimer = null;
    if (hide && !el.qrPanel.hidden) {
      el.qrPanel.hidden = true;
      el.qrImage.removeAttribute("src");
      if (state.secret && !state.ending) call("DELETE", "qr-login").catch(() => {});
    }
  }

  // --- inactivity and the end of a session ---------------------------------------------
  function activity() {
    state.lastActivity = Date.now();
    if (!el.warning.hidden) el.warning.hidden = true;
  }

  function tick() {
    if (state.ending || !state.secret) return;
    const now = Date.now();
    if (state.pending) state.lastActivity = now;  // waiting for the bot is not idleness
    const idle = now - state.lastActivity;
    if (idle >= state.idleMs) {
      endSession("timeout");
      return;
    }
    if (idle >= state.idleMs - state.warningMs) {
      el.warningSeconds.textContent = String(Math.ceil((state.idleMs - idle) / 1000));
      if (el.warning.hidden) {
        el.warning.hidden = false;
        el.keepGoing.focus();
      }
    }
    if (state.lastActivity > state.lastPing && now - state.lastPing >= PING_EVERY_MS) {
      state.lastPing = now;
      call("POST", "ping").catch(() => {});
    }
  }

  async function endSession(reason) {
    if (state.ending) return;
    state.ending = true;
    clearInterval(state.tick);
    stopQr(false);
    const secret = state.secret;
    state.secret = null;
    if (secret) {
      try {
        await Promise.race([
          fetch("/kiosk/api/end", { method: "POST", headers: { "X-Kiosk-Session": secret },
                                    keepalive: true, cache: "no-store", credentials: "omit" }),
          new Promise((resolve) => setTimeout(resolve, 3000)),
        ]);
      } catch (_) { /* the server forgets idle sessions by itself */ }
    }
    wipe();
    // a fresh page load: new session, nothing of this one left in memory
    window.location.replace(reason === "timeout" ? "/?ket-thuc=het-gio" : "/");
  }

  function wipe() {
    el.log.replaceChildren();
    el.input.value = "";
    el.qrImage.removeAttribute("src");
    el.printFrame.remove();
    for (const url of state.blobUrls) URL.revokeObjectURL(url);
    state.blobUrls = [];
    try { window.localStorage.clear(); window.sessionStorage.clear(); } catch (_) { /* disabled */ }
    for (const cookie of document.cookie.split(";")) {
      const name = cookie.split("=")[0].trim();
      if (name) document.cookie = name + "=; Max-Age=0; path=/";
    }
    if (window.caches) caches.keys().then((keys) => keys.forEach((k) => caches.delete(k))).catch(() => {});
  }

  // --- start ---------------------------------------------------------------------------
  async function start() {
    const timedOut = window.location.search === "?ket-thuc=het-gio";
    if (window.location.search || window.location.hash) history.replaceState(null, "", "/");
    let result = null;
    try { result = await call("POST", "session"); } catch (_) { result = null; }
    if (!result || !result.ok || !result.data) {
      setNotice("Dạ, máy chưa kết nối được với trợ lý. Trang sẽ tự thử lại sau 10 giây; nếu vẫn " +
        "chưa được, anh/chị báo cán bộ tại quầy giúp em.");
      setTimeout(() => window.location.replace("/"), 10000);
      return;
    }
    const d = result.data;
    state.secret = d.session;
    state.idleMs = d.idle_s * 1000;
    state.warningMs = d.warning_s * 1000;
    state.maxChars = d.max_chars;
    state.lastActivity = state.lastPing = Date.now();
    if (timedOut) setNotice("Phiên trước đã tự kết thúc vì không có thao tác; thông tin đã được xóa.");
    bubble("bot", WELCOME);
    choices(STARTERS.map(([title, payload]) => ({ title, payload })));
    state.tick = setInterval(tick, 1000);
    el.input.focus();
  }

  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send(el.input.value);
  });
  el.input.addEventListener("input", updateCounter);
  el.end.addEventListener("click", () => endSession("button"));
  el.endNow.addEventListener("click", () => endSession("button"));
  el.keepGoing.addEventListener("click", () => { activity(); el.input.focus(); });
  el.qrRenew.addEventListener("click", startQr);
  el.qrCancel.addEventListener("click", () => { stopQr(true); el.input.focus(); });
  for (const type of ["keydown", "pointerdown", "touchstart", "input", "wheel"]) {
    document.addEventListener(type, activity, { passive: true, capture: true });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !el.warning.hidden) activity();
  });
  start();
})();
