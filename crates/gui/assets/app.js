// piranha web GUI: keeps /monitor live from the server-sent events of /api/v1/events, and
// checks forms as they are filled in by asking the server (nothing is written by a check).
// Every page is complete without this script.
(function () {
  'use strict';
  var table = document.getElementById('real-servers');
  if (!table || !window.EventSource) { return; }

  function human(secs) {
    if (typeof secs !== 'number' || !isFinite(secs) || secs < 0) { return '-'; }
    var s = Math.floor(secs);
    if (s < 60) { return s + 's'; }
    if (s < 3600) { return Math.floor(s / 60) + 'm ' + (s % 60) + 's'; }
    if (s < 86400) { return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm'; }
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }

  function set(id, text, stale) {
    var el = document.getElementById(id);
    if (!el) { return; }
    el.textContent = text;
    el.classList.toggle('stale', !!stale);
  }

  function cell(tr, cls, text) {
    var td = tr.querySelector('td.' + cls);
    if (td && td.textContent !== text) { td.textContent = text; }
    return td;
  }

  function findServer(lvsd, v, s) {
    var vs = lvsd.virtual_servers || [];
    for (var i = 0; i < vs.length; i++) {
      if (vs[i].name !== v) { continue; }
      var rs = vs[i].real_servers || [];
      for (var j = 0; j < rs.length; j++) {
        if (rs[j].name === s) { return rs[j]; }
      }
    }
    return null;
  }

  function updateRow(tr, r) {
    var health = r && (r.health === 'up' || r.health === 'down') ? r.health : 'unknown';
    var td = cell(tr, 'health', health);
    if (td) { td.className = 'health health-' + health; }
    tr.classList.toggle('stale', !r);
    if (!r) {
      ['weight', 'active-conns', 'inactive-conns', 'since'].forEach(function (c) { cell(tr, c, '-'); });
      cell(tr, 'in-table', 'no');
      return;
    }
    var t = r.traffic || {};
    cell(tr, 'weight', String(r.weight));
    cell(tr, 'in-table', r.in_table ? 'yes' : 'no');
    cell(tr, 'active-conns', String(t.active_conns || 0));
    cell(tr, 'inactive-conns', String(t.inactive_conns || 0));
    cell(tr, 'since', human(r.since_secs));
    cell(tr, 'admin', r.admin || '');
  }

  function update(s) {
    var p = s.pulse || {};
    if (p.stale) {
      var why = 'stale: ' + (p.error || 'pulse did not answer');
      set('pulse-state', why, true);
      set('partner-state', why, true);
      set('vips', why, true);
    } else {
      set('pulse-state', p.role + ', ' + p.state, false);
      var partner = 'none configured';
      if (p.partner) {
        partner = p.partner + ': ' + (p.partner_state || 'unknown') +
          (typeof p.partner_last_heard_ms === 'number'
            ? ', last heard ' + human(p.partner_last_heard_ms / 1000) + ' ago' : ', not heard');
      }
      set('partner-state', partner, false);
      set('vips', (p.vips && p.vips.length) ? p.vips.join(', ') : 'none', false);
    }
    var l = s.lvsd || {};
    if (l.stale) {
      set('lvsd-state', 'stale: ' + (l.error || 'lvsd did not answer'), true);
    } else {
      set('lvsd-state', 'running, ' + l.dataplane + ' data plane', false);
    }
    var vrows = document.querySelectorAll('#virtual-state tbody tr');
    for (var k = 0; k < vrows.length; k++) {
      var vr = vrows[k];
      var name = vr.getAttribute('data-vs');
      var found = null;
      (l.virtual_servers || []).forEach(function (v) { if (v.name === name) { found = v; } });
      vr.classList.toggle('stale', !found || !!l.stale);
      if (!found || l.stale) { continue; }
      var rs = found.real_servers || [];
      var up = rs.filter(function (r) { return r.health === 'up'; }).length;
      var vt = found.traffic || {};
      cell(vr, 'in-table', found.in_table === false ? 'no' : 'yes');
      cell(vr, 'up', up + ' of ' + rs.length);
      cell(vr, 'sorry', found.sorry_active ? 'in use' : '-');
      cell(vr, 'active-conns', String(vt.active_conns || 0));
      cell(vr, 'conns', String(vt.conns || 0));
    }
    var rows = table.querySelectorAll('tbody tr');
    for (var i = 0; i < rows.length; i++) {
      var tr = rows[i];
      var r = l.stale ? null : findServer(l, tr.getAttribute('data-virtual'), tr.getAttribute('data-server'));
      updateRow(tr, r);
    }
  }

  // Everything shown is old: say so rather than show it as current.
  function allStale(why) {
    ['pulse-state', 'partner-state', 'vips', 'lvsd-state'].forEach(function (id) {
      set(id, 'stale: ' + why, true);
    });
    var rows = document.querySelectorAll('#real-servers tbody tr, #virtual-state tbody tr');
    for (var i = 0; i < rows.length; i++) { rows[i].classList.add('stale'); }
  }

  // The service sends the status at least every 15 s: a longer silence means the stream broke.
  var last = Date.now();
  var es = new EventSource('/api/v1/events');
  es.addEventListener('status', function (ev) {
    var s;
    try { s = JSON.parse(ev.data); } catch (e) { return; }
    last = Date.now();
    update(s);
  });
  es.onerror = function () {
    // Until the next event nothing shown is current (the browser reconnects by itself unless
    // the service refused the stream, as when the session ended).
    allStale(es.readyState === EventSource.CLOSED
      ? 'no connection to the web service (reload the page, or log in again)'
      : 'reconnecting to the web service');
  };
  setInterval(function () {
    var quiet = Math.round((Date.now() - last) / 1000);
    if (quiet > 20) { allStale('no update from the web service for ' + quiet + 's'); }
  }, 2000);
})();

// Inline validation: when a field of a form changes, the form is sent as it is (a save never
// writes: it answers with the form and lvscf's messages, or with the diff), and the messages
// are shown next to their fields. The lvs.cf editor is checked the same way as it is typed in.
(function () {
  'use strict';
  if (!window.fetch || !window.DOMParser) { return; }

  function send(form, extra) {
    var body = new URLSearchParams(new FormData(form));
    if (extra) { Object.keys(extra).forEach(function (k) { body.set(k, extra[k]); }); }
    // getAttribute: the editor has buttons named "action", which shadow form.action.
    return fetch(form.getAttribute('action'), { method: 'POST', body: body, credentials: 'same-origin' })
      .then(function (r) { return r.text().then(function (t) { return [r.status, t]; }); })
      .then(function (x) { return [x[0], new DOMParser().parseFromString(x[1], 'text/html')]; });
  }

  var edit = document.getElementById('edit-form');
  if (edit) {
    var busy = 0;
    edit.addEventListener('change', function () {
      var mine = ++busy;
      send(edit).then(function (x) {
        if (mine !== busy) { return; }
        var fields = edit.querySelectorAll('div.field');
        for (var i = 0; i < fields.length; i++) {
          var input = fields[i].querySelector('[name]:not([type=hidden])');
          if (!input) { continue; }
          var key = input.getAttribute('name');
          var old = fields[i].querySelector('p.field-error');
          var got = x[0] === 422 ? x[1].getElementById('error-' + key) : null;
          if (old && !got) {
            old.parentNode.removeChild(old);
            input.removeAttribute('aria-invalid');
            input.removeAttribute('aria-describedby');
          } else if (got) {
            var p = document.createElement('p');
            p.className = 'field-error';
            p.id = 'error-' + key;
            p.setAttribute('role', 'alert');
            p.textContent = got.textContent;
            if (old) { old.parentNode.replaceChild(p, old); } else { input.insertAdjacentElement('afterend', p); }
            input.setAttribute('aria-invalid', 'true');
            input.setAttribute('aria-describedby', p.id);
          }
        }
      }).catch(function () { /* the submit still checks */ });
    });
  }

  var editor = document.getElementById('lvscf-form');
  var text = document.getElementById('lvscf-text');
  if (editor && text) {
    var timer = null;
    var seq = 0;
    text.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        send(editor, { action: 'check' }).then(function (x) {
          if (mine !== seq) { return; }
          var now = document.getElementById('diagnostics');
          var got = x[1].getElementById('diagnostics');
          if (got) {
            var list = document.importNode(got, true);
            if (now) { now.parentNode.replaceChild(list, now); } else { editor.parentNode.insertBefore(list, editor); }
          } else if (now) {
            now.parentNode.removeChild(now);
          }
        }).catch(function () { /* the check button still works */ });
      }, 700);
    });
  }
})();
