// Signature pad: pointer events (finger, stylus, mouse), smooth strokes,
// clear and undo; posts the PNG with the ID's last four characters.
(function () {
  var form = document.getElementById('sign-form');
  var canvas = document.getElementById('pad');
  var ctx = canvas.getContext('2d');
  var strokes = [], current = null;

  function resize() {
    var r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(r.width * dpr);
    canvas.height = Math.round(r.height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    redraw();
  }
  function point(e) {
    var r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }
  function drawStroke(s) {
    if (s.length === 0) return;
    ctx.lineWidth = 3; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#111';
    ctx.beginPath();
    ctx.moveTo(s[0].x, s[0].y);
    if (s.length === 1) { ctx.lineTo(s[0].x + 0.1, s[0].y + 0.1); }
    for (var i = 1; i < s.length - 1; i++) {
      var mx = (s[i].x + s[i + 1].x) / 2, my = (s[i].y + s[i + 1].y) / 2;
      ctx.quadraticCurveTo(s[i].x, s[i].y, mx, my);
    }
    if (s.length > 1) ctx.lineTo(s[s.length - 1].x, s[s.length - 1].y);
    ctx.stroke();
  }
  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    strokes.forEach(drawStroke);
  }
  canvas.addEventListener('pointerdown', function (e) {
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    current = [point(e)];
    strokes.push(current);
    redraw();
  });
  canvas.addEventListener('pointermove', function (e) {
    if (!current) return;
    e.preventDefault();
    var evs = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    evs.forEach(function (ev) { current.push(point(ev)); });
    redraw();
  });
  function end() { current = null; }
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  document.getElementById('clear').onclick = function () { strokes = []; redraw(); };
  document.getElementById('undo').onclick = function () { strokes.pop(); redraw(); };
  window.addEventListener('resize', resize);
  resize();

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var err = document.getElementById('error');
    err.textContent = '';
    if (strokes.length === 0) { err.textContent = '请先在签名区签名。'; return; }
    var last4 = document.getElementById('id_last4').value.trim();
    if (last4.length !== 4) { err.textContent = '请输入身份证号码后四位。'; return; }
    var png = canvas.toDataURL('image/png').split(',')[1];
    var btn = document.getElementById('confirm');
    btn.disabled = true;
    fetch('/api/v1/sign/' + encodeURIComponent(form.dataset.token), {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ image_png: png, id_last4: last4 })
    }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) { err.textContent = res.body.error ? res.body.error.message : '签署失败，请重试。'; btn.disabled = false; return; }
        form.hidden = true;
        document.getElementById('done').hidden = false;
        document.getElementById('done-text').textContent = res.body.sealed ? '文书已盖章生效，可交由工作人员打印。' : '您的签名已保存，等待工作人员签名后生效。';
      })
      .catch(function () { err.textContent = '网络异常，请重试。'; btn.disabled = false; });
  });
})();
