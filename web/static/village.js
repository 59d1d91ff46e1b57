// The village app's outbox (see web/village.go). Every errand and every
// hand-over of an original the agent submits on a village page is first
// written to IndexedDB with an idempotency key made here, then sent to
// the API, oldest first, one at a time, with that key; it leaves the
// outbox only when the server has answered. A resend after a lost answer
// carries the same key and the same bytes, so the server answers with what
// the first sending did instead of doing it again. What the server refuses
// stays as 需处理 with its message until the agent deals with it.
(function () {
  'use strict';
  var DB = 'daiban-village', STORE = 'outbox', PAGES = 'daiban-village-pages';
  var app = document.getElementById('village-app');
  if (!app) {
    document.addEventListener('DOMContentLoaded', loginNote);
    return;
  }
  var me = app.getAttribute('data-user') || '';
  var SENT_KEEP = 24 * 3600 * 1000; // 已上传 shows for a day, then goes

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/village/sw.js', {scope: '/village'}).catch(function () {
      note('本机浏览器未能启用离线功能，没有信号时请勿关闭页面。', true);
    });
  }

  // loginNote tells a village agent signing in again that what waits on
  // the phone is safe and goes out after the sign-in. It opens the outbox
  // only when the phone has one (opening would make an empty one).
  function loginNote() {
    var p = document.getElementById('login-outbox');
    if (!p || !indexedDB.databases) return;
    indexedDB.databases().then(function (dbs) {
      if (!dbs.some(function (d) { return d.name === DB; })) return;
      return all().then(function (items) {
        var n = items.filter(function (it) { return it.status !== 'sent'; }).length;
        if (!n) return;
        p.textContent = '本机还有 ' + n + ' 项代办记录没有上传，仍完好保存；登录后会自动上传。';
        p.hidden = false;
      });
    }).catch(function () {});
  }

  // keepPages asks the service worker to keep the three pages for use
  // without signal; the page then says it is ready.
  function keepPages() {
    if (!('serviceWorker' in navigator) || !navigator.onLine) return;
    navigator.serviceWorker.ready.then(function (reg) {
      var ch = new MessageChannel();
      ch.port1.onmessage = function (e) {
        if (!e.data || !e.data.ok) return;
        document.documentElement.setAttribute('data-offline-ready', '1');
        var s = document.getElementById('synced');
        if (s && !document.getElementById('offline-ready')) {
          var r = el('span', 'offline-ready', ' · 已保存到本机，没有信号也能打开');
          r.id = 'offline-ready';
          s.appendChild(r);
        }
      };
      reg.active.postMessage({type: 'keep-pages'}, [ch.port2]);
    });
  }

  // --- IndexedDB -------------------------------------------------------
  function open() {
    return new Promise(function (resolve, reject) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, {keyPath: 'key'}); };
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }
  // store runs fn on the outbox in one transaction and resolves when it
  // has committed (so an item counts as saved only once it is on disk).
  function store(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), out;
        t.oncomplete = function () { db.close(); resolve(out); };
        t.onerror = t.onabort = function () { db.close(); reject(t.error); };
        out = fn(t.objectStore(STORE));
      });
    });
  }
  function all() {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var r = db.transaction(STORE).objectStore(STORE).getAll();
        r.onsuccess = function () {
          db.close();
          resolve(r.result.sort(function (a, b) { return a.seq - b.seq; }));
        };
        r.onerror = function () { db.close(); reject(r.error); };
      });
    });
  }
  function get(key) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var r = db.transaction(STORE).objectStore(STORE).get(key);
        r.onsuccess = function () { db.close(); resolve(r.result); };
        r.onerror = function () { db.close(); reject(r.error); };
      });
    });
  }
  function put(item) { return store('readwrite', function (s) { s.put(item); }); }
  function remove(key) { return store('readwrite', function (s) { s.delete(key); }); }

  // add queues an item after every other (seq grows even within one ms).
  function add(item) {
    return all().then(function (items) {
      var last = items.length ? items[items.length - 1].seq : 0;
      item.seq = Math.max(Date.now(), last + 1);
      item.key = crypto.randomUUID();
      item.user = me;
      item.created = Date.now();
      item.status = 'pending';
      return put(item);
    });
  }

  // --- sending ---------------------------------------------------------
  var sending = null;
  function flush() {
    if (!navigator.onLine) { render(); return Promise.resolve(); }
    if (sending) return sending;
    var run = function () { return sendAll(); };
    var p = navigator.locks ? navigator.locks.request('daiban-outbox', run) : run();
    sending = p.catch(function () {}).then(function () { sending = null; return render(); });
    return sending;
  }

  // due: waiting items, and those held only for a sign-in (retried once
  // the right agent is signed in).
  function due(it) { return it.status === 'pending' || (it.status === 'problem' && it.problem && it.problem.auth); }

  function sendAll() {
    return all().then(function (items) {
      items = items.filter(due);
      if (!items.length) return;
      return fetch('/village/session.json', {credentials: 'same-origin', cache: 'no-store'}).then(function (r) {
        if (r.status === 401) return holdAll(items, expired());
        if (!r.ok) return;
        return r.json().then(function (sess) { return sendEach(items, sess); });
      }, function () { /* no network: keep everything for later */ });
    });
  }

  function expired() {
    return {auth: true, message: '登录已过期。', advice: '请重新登录；登录后本机保存的各项会自动上传，不会丢失。', login: true};
  }

  function holdAll(items, problem) {
    return items.reduce(function (p, it) {
      return p.then(function () { it.status = 'problem'; it.problem = problem; return put(it); });
    }, Promise.resolve());
  }

  // sendEach sends the items in order; a network failure stops the round
  // (the rest keep their turn), a refusal marks the item and goes on.
  function sendEach(items, sess) {
    var i = 0;
    var next = function () {
      if (i >= items.length) return;
      var it = items[i++];
      if (it.user !== sess.username) {
        it.status = 'problem';
        it.problem = {auth: true, message: '此项由 ' + it.user + ' 填写，现在登录的是 ' + sess.username + '。',
          advice: '请由 ' + it.user + ' 登录后上传；此项一直保存在本机。'};
        return put(it).then(next);
      }
      return fetch(it.url, {method: 'POST', credentials: 'same-origin', body: it.body,
        headers: {'Content-Type': 'application/json', 'Idempotency-Key': it.key, 'X-CSRF-Token': sess.csrf}})
        .then(function (res) { return answered(it, res); }, function () { return 'stop'; })
        .then(function (r) { if (r !== 'stop') return next(); });
    };
    return next();
  }

  function answered(it, res) {
    if (res.ok) {
      return res.json().then(function (out) {
        it.status = 'sent';
        it.sent = Date.now();
        it.result = {id: out.id, number: out.number};
        delete it.body; // the applicant's details leave the phone with the answer
        delete it.details;
        delete it.problem;
        return put(it);
      });
    }
    if (res.status >= 500 || res.status === 429 || res.status === 408) return 'stop';
    return res.json().catch(function () { return {}; }).then(function (e) {
      var msg = (e && e.error && e.error.message) || ('服务器拒绝了此项（' + res.status + '）。');
      it.status = 'problem';
      if (e && e.error && e.error.case_id && !it.link) it.link = '/cases/' + e.error.case_id;
      it.problem = res.status === 401 ? expired() : {status: res.status, message: msg, advice: advice(it, res.status, e),
        field: (e && e.error && e.error.field) || ''};
      return put(it).then(function () { return res.status === 401 ? 'stop' : ''; });
    });
  }

  function advice(it, status, e) {
    var code = e && e.error && e.error.code;
    if (status === 404) return '案件不存在或已不在您的管辖范围内，请与镇街代办员核对；核对后可删除此项。';
    if (status === 403) return '您没有权限做这件事，请与镇街代办员联系；核对后可删除此项。';
    if (it.kind === 'custody') return '案件已有变化（材料可能已由他人移交），请打开案件核对原件现由谁保管；如仍需移交，请重新登记，然后删除此项。';
    if (code === 'duplicate' || (e && e.error && e.error.case_id)) return '该申请人已有同一事项的在办案件，请先打开查看；确需另行登记，请点「修改后重新提交」并填写原因；不需要了就删除此项。';
    return '请点「修改后重新提交」，按提示改正后再提交；不需要了就删除此项。';
  }

  // --- what the agent sees ---------------------------------------------
  // hm shows a time in Beijing time, as the server's pages do, whatever
  // zone the phone is set to.
  var beijing = new Intl.DateTimeFormat('zh-CN', {timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric',
    hour: '2-digit', minute: '2-digit', hour12: false});
  function hm(ms) { return beijing.format(new Date(ms)); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  var STATUS = {pending: '待上传', problem: '需处理', sent: '已上传'};

  function render() {
    var box = document.getElementById('outbox');
    if (!box) return Promise.resolve();
    return all().then(function (items) {
      var now = Date.now();
      items = items.filter(function (it) {
        if (it.status === 'sent' && now - it.sent > SENT_KEEP) { remove(it.key); return false; }
        return true;
      });
      box.textContent = '';
      box.hidden = items.length === 0;
      if (!items.length) return;
      var waiting = items.filter(due).length;
      var head = el('div', 'row between');
      head.appendChild(el('h3', null, '本机提交记录'));
      if (waiting && navigator.onLine) {
        var b = el('button', 'small secondary', '立即上传');
        b.type = 'button';
        b.id = 'outbox-send';
        b.addEventListener('click', function () { retryAll().then(flush); });
        head.appendChild(b);
      }
      box.appendChild(head);
      if (!navigator.onLine && waiting) box.appendChild(el('p', 'small muted', '现在没有网络：有信号后自动上传，请勿清除浏览器数据。'));
      var ul = el('ul', 'plain outbox-items');
      items.forEach(function (it) { ul.appendChild(row(it)); });
      box.appendChild(ul);
    });
  }

  function row(it) {
    var li = el('li', 'ob-item ob-' + it.status);
    li.setAttribute('data-key', it.key);
    var top = el('div', 'row between');
    top.appendChild(el('span', 'ob-label', it.label));
    top.appendChild(el('span', 'badge ob-status ' + (it.status === 'sent' ? 's-done' : it.status === 'problem' ? 's-stop' : 's-wait'), STATUS[it.status]));
    li.appendChild(top);
    var meta = el('div', 'small muted', hm(it.created) + ' 填写');
    if (it.status === 'sent') {
      meta.textContent += ' · ' + hm(it.sent) + ' 已上传';
      if (it.result && it.result.id) {
        meta.appendChild(document.createTextNode(' · '));
        var a = el('a', null, it.result.number ? '办件编号 ' + it.result.number : '打开案件');
        a.href = '/cases/' + it.result.id;
        meta.appendChild(a);
      }
    }
    li.appendChild(meta);
    if (it.status === 'problem' && it.problem) li.appendChild(problem(it));
    return li;
  }

  function problem(it) {
    var div = el('div', 'ob-problem');
    div.appendChild(el('p', 'ob-message', it.problem.message));
    div.appendChild(el('p', 'small ob-advice', it.problem.advice));
    // Another agent's items (signed in on this phone before) show no
    // applicant's details and cannot be changed here.
    var mine = it.user === me;
    if (it.details && mine) div.appendChild(el('p', 'small muted ob-details', it.details));
    var tools = el('div', 'row');
    if (it.problem.login) {
      var a = el('a', 'button small', '重新登录');
      a.href = '/login?next=' + encodeURIComponent(location.pathname);
      tools.appendChild(a);
    }
    if (it.kind === 'errand' && it.body && !it.problem.auth && mine) {
      var redo = el('a', 'button small ob-redo', '修改后重新提交');
      redo.href = '/village/new?redo=' + encodeURIComponent(it.key);
      tools.appendChild(redo);
    }
    if (it.link) {
      var c = el('a', 'button small secondary', '打开案件');
      c.href = it.link;
      tools.appendChild(c);
    }
    if (!it.problem.auth && mine) {
      var retry = el('button', 'small secondary', '重试');
      retry.type = 'button';
      retry.addEventListener('click', function () { it.status = 'pending'; delete it.problem; put(it).then(flush); });
      tools.appendChild(retry);
      var del = el('button', 'small secondary ob-delete', '删除此项');
      del.type = 'button';
      del.addEventListener('click', function () {
        if (del.getAttribute('data-armed')) { remove(it.key).then(render); return; }
        del.setAttribute('data-armed', '1');
        del.textContent = '确认删除（不再上传）';
      });
      tools.appendChild(del);
    }
    div.appendChild(tools);
    return div;
  }

  function retryAll() {
    return all().then(function (items) {
      return items.reduce(function (p, it) {
        if (!due(it)) return p;
        return p.then(function () { it.status = 'pending'; delete it.problem; return put(it); });
      }, Promise.resolve());
    });
  }

  function note(msg, bad) {
    var main = document.querySelector('main');
    var n = document.getElementById('village-note') || el('div', 'flash', '');
    n.id = 'village-note';
    n.className = 'flash ' + (bad ? 'bad' : 'ok');
    n.setAttribute('role', 'status');
    n.textContent = msg;
    if (!n.parentNode && main) main.insertBefore(n, main.firstChild);
    return n;
  }

  // The copy of a page shown without signal says when it was synced.
  function connectivity() {
    var s = document.getElementById('synced');
    var off = document.getElementById('offline-now');
    if (s && !off) {
      off = el('span', 'offline-now', '（现在没有网络，显示的是上次同步时的内容）');
      off.id = 'offline-now';
      s.appendChild(off);
    }
    if (off) off.hidden = navigator.onLine;
    document.documentElement.classList.toggle('offline', !navigator.onLine);
  }

  // --- the forms -------------------------------------------------------
  function maskName(n) {
    n = (n || '').trim();
    return n ? n.charAt(0) + (n.length > 1 ? '*'.repeat(Math.min(n.length - 1, 3)) : '') : '';
  }
  function optionText(sel) {
    var o = sel && sel.options[sel.selectedIndex];
    return o ? o.textContent.trim() : '';
  }

  function errandForm(form) {
    var matter = form.querySelector('[name=matter]');
    var showMats = function () {
      form.querySelectorAll('.mats-of').forEach(function (m) { m.hidden = m.getAttribute('data-matter') !== matter.value; });
    };
    matter.addEventListener('change', showMats);
    showMats();
    var redo = new URLSearchParams(location.search).get('redo');
    if (redo) get(redo).then(function (it) { if (it && it.body) refill(form, it, showMats); });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var bad = form.querySelector('.err[role=status]:not([hidden])');
      if (!form.reportValidity() || (bad && bad.textContent)) return;
      var v = function (n) { var f = form.querySelector('[name=' + n + ']:not([type=radio]), [name=' + n + ']:checked'); return f ? f.value.trim() : ''; };
      var body = {region: v('region'), channel: 'village', matter: v('matter'), summary: v('summary'),
        applicant: {kind: v('kind') || 'person', name: v('name'), id_number: v('id_number').toUpperCase(), phone: v('phone')}};
      if (v('duplicate_reason')) body.duplicate_reason = v('duplicate_reason');
      var label = '新建代办：' + optionText(matter) + ' · 申请人 ' + maskName(body.applicant.name);
      var item = {kind: 'errand', url: '/api/v1/cases', body: JSON.stringify(body), label: label,
        details: '原填写：' + body.applicant.name + '，' + body.applicant.id_number + '，' + body.applicant.phone + (body.summary ? '，' + body.summary : '')};
      var replaces = form.getAttribute('data-replaces');
      add(item).then(function () {
        // The corrected errand takes the refused one's place.
        if (replaces) {
          form.removeAttribute('data-replaces');
          return remove(replaces);
        }
      }).then(function () {
        form.reset();
        showMats();
        note(navigator.onLine ? '已保存在本机，正在上传……' : '已保存在本机（待上传）：有信号后自动上传。可以接着登记下一件。');
        window.scrollTo(0, 0);
        return flush();
      }).catch(function () {
        // No storage on this phone (a private window, a full disk): with
        // signal the form goes as a plain post, which the server also
        // takes once only (its own key); without, nothing is lost yet.
        if (navigator.onLine) { form.submit(); return; }
        note('未能保存到本机：请不要离开此页，有信号后再点「提交代办」。', true);
      });
    });
  }

  // refill puts a refused errand back into the form, with the reason
  // field when the refusal asks for one.
  function refill(form, it, showMats) {
    var b = JSON.parse(it.body), ap = b.applicant || {};
    var set = function (n, v) { var f = form.querySelector('[name=' + n + ']:not([type=radio])'); if (f) f.value = v || ''; };
    set('matter', b.matter);
    set('name', ap.name);
    set('id_number', ap.id_number);
    set('phone', ap.phone);
    set('summary', b.summary);
    var kind = form.querySelector('input[name=kind][value="' + (ap.kind || 'person') + '"]');
    if (kind) kind.checked = true;
    if (it.problem && it.problem.field === 'duplicate_reason' && !form.querySelector('[name=duplicate_reason]')) {
      var div = el('div', 'field');
      var label = el('label', null, '如确需另行登记，请填写原因（将记入台账）');
      label.htmlFor = 'intake-duplicate-reason';
      var ta = el('textarea');
      ta.id = 'intake-duplicate-reason';
      ta.name = 'duplicate_reason';
      ta.rows = 2;
      ta.required = true;
      div.appendChild(label);
      div.appendChild(ta);
      form.querySelector('#intake-summary').closest('.field').before(div);
    }
    set('duplicate_reason', b.duplicate_reason);
    showMats();
    form.setAttribute('data-replaces', it.key);
    note('请按提示改正后重新提交：' + it.problem.message, true);
  }

  function custodyForm(form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (!form.reportValidity()) return;
      var f = function (n) { return form.querySelector('[name=' + n + ']').value.trim(); };
      var to = f('to');
      if (to === 'department') {
        if (!f('department')) { note('交给审批部门时，请填写部门名称。', true); return; }
        to = 'department:' + f('department');
      }
      var move = {material: f('material'), from: f('from'), to: to, count: parseInt(f('count'), 10), note: f('note')};
      var id = form.getAttribute('data-case');
      var toName = to.indexOf('department:') === 0 ? to.slice(11) : optionText(form.querySelector('[name=to]'));
      var item = {kind: 'custody', url: '/api/v1/cases/' + id + '/custody', body: JSON.stringify(move), link: '/cases/' + id,
        label: '原件移交：' + form.getAttribute('data-number') + '「' + form.getAttribute('data-material-name') + '」' + move.count + ' 份交给 ' + toName};
      add(item).then(function () {
        var d = form.closest('details');
        if (d) d.open = false;
        note(navigator.onLine ? '已保存在本机，正在上传……' : '已保存在本机（待上传）：有信号后自动上传。');
        window.scrollTo(0, 0);
        return flush();
      }).catch(function () {
        if (navigator.onLine) { form.submit(); return; }
        note('未能保存到本机：请不要离开此页，有信号后再点「确认移交」。', true);
      });
    });
  }

  // Signing out: unsent items stay (and say so first); everything else of
  // the agent's — the kept pages, the uploaded records — is cleared, and
  // with an empty outbox the whole store goes.
  function signOut(form) {
    form.addEventListener('submit', function (e) {
      if (form.getAttribute('data-go')) return;
      e.preventDefault();
      if (!navigator.onLine) { note('现在没有网络，无法退出登录；有信号后再退出。', true); return; }
      all().then(function (items) {
        var unsent = items.filter(function (it) { return it.status !== 'sent'; });
        if (!unsent.length) return go(form, items, []);
        var w = document.getElementById('signout-warn') || el('div', 'card warn');
        w.id = 'signout-warn';
        w.setAttribute('role', 'alertdialog');
        w.textContent = '';
        w.appendChild(el('p', null, '本机还有 ' + unsent.length + ' 项没有上传。退出后它们仍保存在本机，下次登录后会自动上传；其余资料将从本机清除。'));
        var r = el('div', 'row');
        var ok = el('button', 'secondary', '仍然退出（保留未上传的）');
        ok.type = 'button';
        ok.id = 'signout-anyway';
        ok.addEventListener('click', function () { go(form, items, unsent); });
        var no = el('button', null, '先不退出');
        no.type = 'button';
        no.addEventListener('click', function () { w.remove(); });
        r.appendChild(ok);
        r.appendChild(no);
        w.appendChild(r);
        var main = document.querySelector('main');
        main.insertBefore(w, main.firstChild);
        window.scrollTo(0, 0);
      });
    });
  }

  function go(form, items, unsent) {
    var clear = items.filter(function (it) { return it.status === 'sent'; })
      .reduce(function (p, it) { return p.then(function () { return remove(it.key); }); }, Promise.resolve());
    return clear.then(function () {
      if (!unsent.length) return new Promise(function (resolve) {
        var r = indexedDB.deleteDatabase(DB);
        r.onsuccess = r.onerror = r.onblocked = function () { resolve(); };
      });
    }).then(function () { return window.caches ? caches.delete(PAGES) : null; }).then(function () {
      // A kept page may carry an earlier session's token: take the live one.
      return fetch('/village/session.json', {credentials: 'same-origin', cache: 'no-store'})
        .then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
    }).then(function (sess) {
      if (sess) form.querySelector('[name=csrf_token]').value = sess.csrf;
      form.setAttribute('data-go', '1');
      form.submit();
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    connectivity();
    keepPages();
    var errand = document.getElementById('errand-form');
    if (errand) errandForm(errand);
    document.querySelectorAll('form[data-outbox=custody]').forEach(custodyForm);
    // A case page needs signal: say so rather than let the browser show
    // its own error page.
    document.addEventListener('click', function (e) {
      var a = e.target.closest && e.target.closest('a[href^="/cases/"]');
      if (!a || navigator.onLine) return;
      e.preventDefault();
      note('现在没有网络：案件详情需要有信号才能打开。本页的列表和表单没有信号也能用。', true);
      window.scrollTo(0, 0);
    });
    var out = document.querySelector('form[action="/logout"]');
    if (out) signOut(out);
    flush();
    // With signal back, and every little while in case a sending failed
    // on a link that comes and goes without the browser noticing.
    window.addEventListener('online', function () { connectivity(); flush(); });
    window.addEventListener('offline', function () { connectivity(); render(); });
    setInterval(function () { if (navigator.onLine) flush(); }, 30000);
  });
})();
