// piranha web GUI: keeps /monitor live from the server-sent events of /api/v1/events.
// The page is complete without this script; it only updates cells in place.
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
    var rows = table.querySelectorAll('tbody tr');
    for (var i = 0; i < rows.length; i++) {
      var tr = rows[i];
      var r = l.stale ? null : findServer(l, tr.getAttribute('data-virtual'), tr.getAttribute('data-server'));
      updateRow(tr, r);
    }
  }

  var es = new EventSource('/api/v1/events');
  es.addEventListener('status', function (ev) {
    var s;
    try { s = JSON.parse(ev.data); } catch (e) { return; }
    update(s);
  });
  es.onerror = function () {
    // The stream is gone (the service stopped, or the session ended): nothing shown is current.
    if (es.readyState === EventSource.CLOSED) {
      set('lvsd-state', 'stale: no connection to the web service', true);
    }
  };
})();
