// Signature pad for the counter tablet (finger or stylus) and the agent's
// screen (mouse): pointer events with coalesced samples, smooth strokes
// drawn as they come, undo, redo and clear. The form posts the signature
// as PNG (transparent background, black ink) to its data-endpoint, with
// the ID number's last four characters when the form asks for them and
// the CSRF token when the page has one; data-next is where to go after.
(function () {
  'use strict';
  var form = document.getElementById('sign-form');
  var canvas = document.getElementById('pad');
  if (!form || !canvas) return;
  var wrap = canvas.parentNode;
  var ctx = canvas.getContext('2d');
  var strokes = [], undone = [], current = null;
  var ink = '#111';

  function width(p) {
    // A pen's pressure thickens the line a little; a mouse reports 0.5.
    var pr = p.p > 0 ? p.p : 0.5;
    return 1.6 + pr * 2.8;
  }
  function resize() {
    var r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(r.width * dpr));
    canvas.height = Math.max(1, Math.round(r.height * dpr));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    redraw();
  }
  function point(e) {
    var r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top, p: e.pressure };
  }
  // segment draws the part of stroke s that ends at point i: a quadratic
  // curve between the midpoints around point i-1, so joins are smooth.
  function segment(c, s, i) {
    c.lineCap = 'round'; c.lineJoin = 'round'; c.strokeStyle = ink;
    if (i === 0) {
      c.beginPath();
      c.fillStyle = ink;
      c.arc(s[0].x, s[0].y, width(s[0]) / 2, 0, Math.PI * 2);
      c.fill();
      return;
    }
    var a = s[i - 1], b = s[i];
    var m0 = i > 1 ? { x: (s[i - 2].x + a.x) / 2, y: (s[i - 2].y + a.y) / 2 } : a;
    var m1 = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    c.beginPath();
    c.lineWidth = width(b);
    c.moveTo(m0.x, m0.y);
    c.quadraticCurveTo(a.x, a.y, m1.x, m1.y);
    c.stroke();
  }
  function finish(c, s) {
    if (s.length < 2) return;
    var a = s[s.length - 2], b = s[s.length - 1];
    c.beginPath();
    c.lineWidth = width(b);
    c.moveTo((a.x + b.x) / 2, (a.y + b.y) / 2);
    c.lineTo(b.x, b.y);
    c.stroke();
  }
  function drawAll(c) {
    strokes.forEach(function (s) {
      for (var i = 0; i < s.length; i++) segment(c, s, i);
      finish(c, s);
    });
  }
  function redraw() {
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.restore();
    drawAll(ctx);
    wrap.classList.toggle('inked', strokes.length > 0);
  }

  canvas.addEventListener('pointerdown', function (e) {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.preventDefault();
    if (canvas.setPointerCapture) canvas.setPointerCapture(e.pointerId);
    current = [point(e)];
    strokes.push(current);
    undone = [];
    segment(ctx, current, 0);
    wrap.classList.add('inked');
  });
  canvas.addEventListener('pointermove', function (e) {
    if (!current) return;
    e.preventDefault();
    var evs = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    if (evs.length === 0) evs = [e];
    evs.forEach(function (ev) {
      current.push(point(ev));
      segment(ctx, current, current.length - 1);
    });
  });
  function end() {
    if (current) finish(ctx, current);
    current = null;
  }
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener('lostpointercapture', end);

  document.getElementById('clear').addEventListener('click', function () { undone = []; strokes = []; redraw(); });
  document.getElementById('undo').addEventListener('click', function () { if (strokes.length) undone.push(strokes.pop()); redraw(); });
  document.getElementById('redo').addEventListener('click', function () { if (undone.length) strokes.push(undone.pop()); redraw(); });
  window.addEventListener('resize', resize);
  resize();

  // png renders the strokes at screen size on a transparent canvas: the
  // server trims and scales it for the document.
  function png() {
    var r = canvas.getBoundingClientRect();
    var out = document.createElement('canvas');
    out.width = Math.round(r.width);
    out.height = Math.round(r.height);
    drawAll(out.getContext('2d'));
    return out.toDataURL('image/png').split(',')[1];
  }

  // done replaces the document and the form with the done card: the
  // pages (the applicant's full name) leave the screen, and the copy's
  // download link shows as a QR code, a link and, once sealed, a print
  // button for the agent.
  function done(st) {
    var doc = document.getElementById('document');
    if (doc) doc.parentNode.removeChild(doc);
    form.parentNode.removeChild(form);
    document.getElementById('done').hidden = false;
    document.getElementById('done-text').textContent = st.sealed
      ? '文书已盖章生效，谢谢！'
      : '您的签名已保存，工作人员签名后协议生效。';
    if (!st.copy) { document.getElementById('copy-none').hidden = false; return; }
    document.getElementById('copy-qr').src = st.copy.url + '/qr';
    document.getElementById('copy-link').href = st.copy.url;
    var print = document.getElementById('copy-print');
    print.href = st.copy.url;
    print.hidden = !st.sealed;
    document.getElementById('copy-wait').hidden = !!st.sealed;
    document.getElementById('copy').hidden = false;
  }

  // Tapping a page shows it larger (the pane scrolls); tapping again
  // fits it back. Without JavaScript the link opens the image itself.
  Array.prototype.forEach.call(document.querySelectorAll('.docpage a'), function (a) {
    a.addEventListener('click', function (e) {
      e.preventDefault();
      a.parentNode.classList.toggle('zoomed');
    });
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var err = document.getElementById('error');
    err.textContent = '';
    if (strokes.length === 0) { err.textContent = '请先在签名框内签名。'; return; }
    var body = { image_png: png() };
    var last4 = form.querySelector('[name=id_last4]');
    if (last4) {
      // The field's pattern is the rule the API applies (agreements
      // Confirmation), lower case included.
      last4.value = last4.value.trim();
      var rule = new RegExp('^(?:' + last4.getAttribute('pattern') + ')$');
      if (!rule.test(last4.value)) { err.textContent = last4.dataset.hint + '。'; last4.focus(); return; }
      body.id_last4 = last4.value.toUpperCase();
    }
    var headers = { 'Content-Type': 'application/json' };
    if (form.dataset.csrf) headers['X-CSRF-Token'] = form.dataset.csrf;
    var btn = document.getElementById('confirm'), label = btn.textContent;
    btn.disabled = true;
    btn.textContent = '正在提交…';
    fetch(form.dataset.endpoint, { method: 'POST', headers: headers, body: JSON.stringify(body), credentials: 'same-origin' })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }, function () { return { ok: r.ok, body: {} }; }); })
      .then(function (res) {
        if (!res.ok) {
          err.textContent = res.body.error ? res.body.error.message : '签署失败，请重试。';
          btn.disabled = false; btn.textContent = label;
          return;
        }
        if (form.dataset.next) { window.location.assign(form.dataset.next); return; }
        done(res.body);
      })
      .catch(function () { err.textContent = '网络异常，签名未提交，请重试。'; btn.disabled = false; btn.textContent = label; });
  });
})();
