// The village app's service worker (served as /village/sw.js, scope
// /village; the server writes BUILD above this line). What it keeps, and
// why nothing else:
//   - the shell: style, scripts, icons, manifest — no personal data;
//   - three pages, as last fetched with signal: the agent's open errands,
//     the new-errand form (the catalog and its materials) and the
//     hand-over form — only when the server marks them X-Daiban-Offline
//     (a page with a one-time message is not kept).
// Everything else (the API, the session, the finished errands, any post)
// goes to the network only. Pages are fetched network first, so with
// signal the agent always sees the server's answer (the sign-in page once
// the session ends), and the copy only without.
'use strict';

var SHELL = 'daiban-shell-' + BUILD;
var PAGES = 'daiban-village-pages';
var SHELL_FILES = ['/static/style.css', '/static/app.js', '/static/village.js', '/static/favicon.svg', '/favicon.ico',
  '/village/manifest.webmanifest', '/village/icon-192.png', '/village/icon-512.png'];
var PAGE_PATHS = ['/village', '/village/new', '/village/custody'];

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(SHELL_FILES); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf('daiban-shell-') === 0 && k !== SHELL; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// keep-pages, from a village page with signal: fetch the three pages and
// keep them, so one visit is enough for the app to open without signal
// (the page the agent opened is kept by the fetch handler too). The
// answer says whether all three are kept.
self.addEventListener('message', function (event) {
  if (!event.data || event.data.type !== 'keep-pages') return;
  var port = event.ports && event.ports[0];
  event.waitUntil(keepPages().then(function (ok) { if (port) port.postMessage({ok: ok}); }));
});

function keepPages() {
  return caches.open(PAGES).then(function (c) {
    return Promise.all(PAGE_PATHS.map(function (path) {
      return fetch(path, {credentials: 'same-origin', cache: 'no-store', headers: {'X-Daiban-Keep': '1'}}).then(function (res) {
        if (!kept(res, '')) return false;
        return c.put(path, res).then(function () { return true; });
      }, function () { return false; });
    }));
  }).then(function (r) { return r.every(Boolean); });
}

// kept: the server's answer for the page itself (not the sign-in page it
// redirects to once the session ends), marked for keeping.
function kept(res, search) {
  return res.ok && !res.redirected && search === '' && res.headers.get('X-Daiban-Offline') === 'keep';
}

self.addEventListener('fetch', function (event) {
  var req = event.request;
  if (req.method !== 'GET') return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL_FILES.indexOf(url.pathname) >= 0 && url.search === '') {
    event.respondWith(caches.open(SHELL).then(function (c) { return c.match(url.pathname); }).then(function (hit) {
      return hit || fetch(req);
    }));
    return;
  }
  if (req.mode !== 'navigate' || url.pathname.indexOf('/village') !== 0) return;
  if (PAGE_PATHS.indexOf(url.pathname) >= 0) {
    event.respondWith(page(req, url));
    return;
  }
  event.respondWith(fetch(req).catch(function () { return offline(); }));
});

// page answers a navigation to one of the kept pages: the network's answer
// (kept when the server allows), or without network the kept copy.
function page(req, url) {
  return fetch(req).then(function (res) {
    if (kept(res, url.search)) {
      var copy = res.clone();
      caches.open(PAGES).then(function (c) { return c.put(url.pathname, copy); });
    }
    return res;
  }, function () {
    return caches.open(PAGES).then(function (c) { return c.match(url.pathname); }).then(function (hit) {
      return hit || offline();
    });
  });
}

function offline() {
  var html = '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>没有网络</title>' +
    '<link rel="stylesheet" href="/static/style.css"></head><body><main><div class="card">' +
    '<h2>没有网络</h2><p>这个页面需要有信号才能打开。</p>' +
    '<p><a class="button" href="/village">我的代办</a> <a class="button" href="/village/new">新建代办</a> ' +
    '<a class="button" href="/village/custody">原件移交</a></p>' +
    '<p class="muted small">这三个页面在本机保存了上次同步时的内容，没有信号也能使用。</p></div></main></body></html>';
  return new Response(html, {status: 503, headers: {'Content-Type': 'text/html; charset=utf-8'}});
}
