/// `/static/dashboard.css`: the dashboard's only stylesheet, compiled in (see ``Templates``).
/// Readable on a laptop and at phone width: tables scroll sideways inside their box, forms stack.
enum Stylesheet {
    static let css = """
        :root { --fg: #1d2430; --muted: #5b6576; --line: #d9dee6; --bg: #f7f8fa; --accent: #1f5fbf; --warn: #9a5b00; --bad: #b3261e; --ok: #1e7b34; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
        a { color: var(--accent); }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #f2b700; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px; z-index: 2; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        header.top { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; padding: 10px 20px; background: #fff; border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; text-decoration: none; color: var(--fg); font-size: 18px; }
        .who { margin-left: auto; display: flex; gap: 12px; align-items: center; } .role { color: var(--muted); font-size: 13px; }
        main { padding: 16px 20px 48px; max-width: 1280px; margin: 0 auto; }
        h1 { font-size: 24px; margin: 8px 0 4px; } h2 { font-size: 19px; margin: 24px 0 8px; } h3 { font-size: 16px; margin: 18px 0 6px; }
        .sub, .muted, .hint, .crumbs { color: var(--muted); } .crumbs { margin: 0; font-size: 14px; }
        .tabs, .subtabs { display: flex; flex-wrap: wrap; gap: 4px; border-bottom: 1px solid var(--line); margin: 12px 0 16px; }
        .tabs a, .subtabs a { padding: 8px 12px; text-decoration: none; border-radius: 6px 6px 0 0; }
        .tabs a.current, .subtabs a.current { background: #fff; border: 1px solid var(--line); border-bottom-color: #fff; margin-bottom: -1px; color: var(--fg); font-weight: 600; }
        .scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
        thead th { font-size: 13px; color: var(--muted); font-weight: 600; background: #fbfcfd; }
        tbody th { font-weight: 600; } .num { text-align: right; white-space: nowrap; }
        table.kv { width: auto; background: #fff; border: 1px solid var(--line); }
        tr.warned { background: #fff8ec; }
        code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
        pre { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow-x: auto; max-height: 480px; }
        .badge { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 12px; background: #e8edf5; }
        .badge.bad { background: #fde8e7; color: var(--bad); }
        .count { display: inline-block; min-width: 20px; padding: 0 6px; border-radius: 10px; background: #e8edf5; font-size: 12px; text-align: center; }
        .warn, .warn-detail { color: var(--warn); font-weight: 600; } .warn-detail { font-weight: 400; margin: 6px 0 0; }
        .status { font-weight: 600; } .s2 { color: var(--ok); } .s4 { color: var(--warn); } .s5 { color: var(--bad); }
        .notice { background: #eaf3ff; border: 1px solid #b7d1f5; padding: 8px 12px; border-radius: 6px; }
        .problem { background: #fdecea; border: 1px solid #f1b7b2; padding: 8px 12px; border-radius: 6px; color: var(--bad); }
        .empty { color: var(--muted); font-style: italic; }
        ol.steps, ol.paths { margin: 0; padding-left: 20px; } .steps li.matched { font-weight: 600; color: var(--ok); } .steps li.empty { color: var(--muted); }
        .steps li.unused { color: var(--warn); }
        ul.plain { padding-left: 18px; } ul.chips { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 8px; }
        ul.chips li { background: #fff; border: 1px solid var(--line); border-radius: 16px; padding: 2px 10px; }
        form.filters, form.save, .add-property form, section.narrow form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0 16px; }
        section.narrow { max-width: 420px; } section.narrow form { flex-direction: column; align-items: stretch; }
        form.inline { display: inline; } form.add-fallback { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-top: 6px; }
        form.add-fallback label { font-size: 13px; color: var(--muted); width: 100%; }
        input, select, button { font: inherit; padding: 6px 10px; border: 1px solid #b8c0cc; border-radius: 6px; background: #fff; min-height: 36px; }
        button { cursor: pointer; background: #eef2f7; } button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
        button.danger { border-color: var(--bad); color: var(--bad); }
        button.link { border: none; background: none; color: var(--accent); text-decoration: underline; padding: 0 4px; min-height: 0; }
        button.link.danger { color: var(--bad); }
        button.switch[aria-checked="true"] { background: var(--ok); border-color: var(--ok); color: #fff; }
        label.check { display: flex; gap: 6px; align-items: center; }
        .live { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
        svg.chart { width: 168px; height: 32px; display: block; }
        ol.history { padding-left: 20px; } ol.history > li { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 4px 14px 12px; margin-bottom: 10px; }
        @media (max-width: 640px) {
          main { padding: 12px; } h1 { font-size: 20px; }
          form.filters input, form.filters select { width: 100%; }
          th, td { padding: 6px; }
        }
        """
}

/// `/static/live.js`: the pages that list things follow the change feed (Server-Sent Events from
/// `…/live`) and re-fetch themselves after a change, replacing their `<main>` in place, at most
/// once a second and never while the operator is typing in one of its fields. Pages work the
/// same without it (reload to see changes).
enum LiveScript {
    static let js = """
        (() => {
          const main = document.getElementById('main');
          const url = main && main.dataset.live;
          if (!url || !window.EventSource || !window.fetch) return;
          const note = document.createElement('p');
          note.className = 'live';
          note.setAttribute('role', 'status');
          note.textContent = 'Live: this page updates as changes arrive.';
          main.before(note);
          let timer = null, changes = 0;
          const typing = () => { const e = document.activeElement; return e && main.contains(e) && e.matches('input, select, textarea'); };
          async function refresh() {
            timer = null;
            if (typing()) { timer = setTimeout(refresh, 1000); return; }
            const response = await fetch(location.href, { credentials: 'same-origin' });
            if (!response.ok || response.redirected) return;
            const fresh = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById('main');
            if (fresh) {
              main.innerHTML = fresh.innerHTML;
              note.textContent = `Live: updated after ${changes} change${changes === 1 ? '' : 's'}, ${new Date().toLocaleTimeString()}.`;
            }
          }
          const source = new EventSource(url);
          source.addEventListener('change', () => { changes += 1; if (!timer) timer = setTimeout(refresh, 1000); });
          source.onerror = () => { note.textContent = 'Live updates paused: reconnecting…'; };
          source.onopen = () => { if (changes === 0) note.textContent = 'Live: this page updates as changes arrive.'; };
        })();
        """
}
