// Progressive enhancement only: every form works without this file.
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  document.addEventListener('DOMContentLoaded', function () {
    // A refused form: bring its summary into view and give it the focus,
    // so the first thing read is what to fix.
    var failed = document.querySelector('.errsummary, .ferr');
    if (failed) {
      failed.scrollIntoView({block: 'start'});
      failed.focus({preventScroll: true});
    }
    // A field the user changes after a refusal loses its old message: it
    // may be right now, and the server says again if it is not.
    document.querySelectorAll('.field.invalid').forEach(function (field) {
      var clear = function () {
        field.classList.remove('invalid');
        field.querySelectorAll('[aria-invalid]').forEach(function (el) { el.removeAttribute('aria-invalid'); });
        field.querySelectorAll('.err:not([role=status])').forEach(function (el) { el.hidden = true; });
      };
      field.addEventListener('input', clear);
      field.addEventListener('change', clear);
    });

    // Live filter of the matter list at intake (the search button does the
    // same on the server).
    document.querySelectorAll('input[data-filter]').forEach(function (input) {
      var list = document.querySelector(input.getAttribute('data-filter'));
      if (!list) return;
      input.addEventListener('input', function () {
        var q = input.value.trim().toLowerCase();
        list.querySelectorAll('.opt').forEach(function (opt) {
          var text = (opt.getAttribute('data-text') || '').toLowerCase();
          opt.classList.toggle('hidden', q !== '' && text.indexOf(q) < 0);
        });
      });
    });

    // ID number check character, as the server checks it (GB 11643 for a
    // resident ID, GB 32100 for a unified social credit code).
    var id = document.querySelector('input[name=id_number]');
    if (id) {
      var hint = document.createElement('span');
      hint.className = 'err';
      hint.setAttribute('role', 'status');
      hint.hidden = true;
      id.parentNode.appendChild(hint);
      var check = function () {
        var kindEl = document.querySelector('input[name=kind]:checked');
        var v = id.value.trim().toUpperCase();
        var msg = '';
        if (v.length > 0) {
          if (v.length !== 18) msg = '应为 18 位，现在是 ' + v.length + ' 位';
          else if (kindEl && kindEl.value === 'enterprise' ? !validCredit(v) : !validID(v)) msg = '校验位不符，请逐位核对';
        }
        hint.textContent = msg;
        hint.hidden = msg === '';
      };
      id.addEventListener('blur', check);
      id.addEventListener('input', function () { if (!hint.hidden) check(); });
    }

    document.querySelectorAll('[data-print]').forEach(function (b) {
      b.addEventListener('click', function () { window.print(); });
    });
    document.querySelectorAll('form[data-confirm]').forEach(function (f) {
      f.addEventListener('submit', function (e) {
        if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault();
      });
    });
  });

  function validID(id) {
    var w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], sum = 0;
    if (!/^[0-9]{17}[0-9X]$/.test(id)) return false;
    for (var i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * w[i];
    var m = +id.substr(10, 2), d = +id.substr(12, 2);
    if (m < 1 || m > 12 || d < 1 || d > 31) return false;
    return '10X98765432'.charAt(sum % 11) === id.charAt(17);
  }
  function validCredit(code) {
    var a = '0123456789ABCDEFGHJKLMNPQRTUWXY';
    var w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], sum = 0;
    for (var i = 0; i < 17; i++) {
      var v = a.indexOf(code.charAt(i));
      if (v < 0) return false;
      sum += v * w[i];
    }
    return a.charAt((31 - sum % 31) % 31) === code.charAt(17);
  }
})();
