// The public verify page: the chosen or dropped PDF is hashed in the
// browser (WebCrypto SHA-256); only the hash goes to the server.
(function () {
  "use strict";
  var input = document.getElementById("verify-file");
  var box = document.getElementById("verify-file-box");
  if (!input || !box) { return; }
  var sumEl = document.getElementById("verify-file-sum");
  var out = document.getElementById("verify-file-result");

  function line(cls, text) {
    var p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    out.appendChild(p);
    return p;
  }

  function hex(buf) {
    var b = new Uint8Array(buf), s = "";
    for (var i = 0; i < b.length; i++) { s += (b[i] < 16 ? "0" : "") + b[i].toString(16); }
    return s;
  }

  function show(sum, status, v) {
    out.textContent = "";
    out.setAttribute("data-sha256", sum);
    if (status === 404) {
      out.setAttribute("data-verdict", "unknown");
      line("bad", "未找到该文书：这个文件不是本中心出具的，或出具后被修改过。");
      return;
    }
    if (status !== 200 || !v) {
      out.setAttribute("data-verdict", "error");
      line("bad", "查询失败（" + status + "），请稍后再试。");
      return;
    }
    var seal = v.seal || { status: "unknown", message: "" };
    out.setAttribute("data-verdict", seal.status);
    if (seal.status === "valid") {
      line("ok big-text", "✓ 这是" + v.center + "出具的" + v.title + "，电子签章有效。");
    } else if (seal.status === "revoked") {
      line("bad big-text", "✗ 这份" + v.title + "由已吊销的签章密钥在吊销之后盖章，不能作为有效文书。");
    } else {
      line("warn big-text", "这份" + v.title + "已记入台账，但签章状态无法判断。");
    }
    if (seal.message) { line("", seal.message); }
    if (seal.awaiting_timestamp) { line("warn", "等待时间戳：盖章时时间戳服务未应答，恢复后将自动补加。"); }
    line("muted small", "办件编号 " + v.case_number + "，核验码 " + v.verify_code + "。");
    var a = document.createElement("a");
    a.href = "/verify/" + sum;
    a.textContent = "查看完整核验结果";
    out.appendChild(a);
  }

  function check(file) {
    out.textContent = "";
    if (!file) { return; }
    if (!window.crypto || !window.crypto.subtle) {
      line("bad", "此浏览器不能在本机计算文件指纹（需要 HTTPS 访问）。请改用核验码，或用 sha256sum 计算后输入指纹。");
      return;
    }
    sumEl.textContent = "正在计算 " + file.name + " 的指纹…";
    file.arrayBuffer().then(function (buf) {
      return window.crypto.subtle.digest("SHA-256", buf);
    }).then(function (d) {
      var sum = hex(d);
      sumEl.textContent = file.name + " 的 SHA-256 指纹：" + sum;
      return fetch("/api/v1/verify/" + sum, { headers: { "Accept": "application/json" } }).then(function (r) {
        if (r.status !== 200) { show(sum, r.status, null); return; }
        return r.json().then(function (v) { show(sum, 200, v); });
      });
    }).catch(function () {
      line("bad", "读取或查询失败，请重试。");
    });
  }

  input.addEventListener("change", function () { check(input.files[0]); });
  box.addEventListener("dragover", function (e) { e.preventDefault(); box.classList.add("over"); });
  box.addEventListener("dragleave", function () { box.classList.remove("over"); });
  box.addEventListener("drop", function (e) {
    e.preventDefault();
    box.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) { check(e.dataTransfer.files[0]); }
  });
}());
