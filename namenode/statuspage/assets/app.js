// CHKV NameNode status page: renders /status and /ring, and fetches them
// again every CHKV_REFRESH_MS milliseconds. Plain JavaScript, no build step.
"use strict";
(function () {
  const SLOTS = 16384;
  const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2",
    "#ca8a04", "#db2777", "#4f46e5", "#65a30d", "#ea580c", "#0d9488"];
  const UNOWNED = "#d1d5db";
  const refreshMs = window.CHKV_REFRESH_MS || 2000;
  const peaks = {};        // node id + direction -> most slots seen left to move
  let status = null, ring = null, lastOK = null;

  const $ = (id) => document.getElementById(id);
  const num = (v) => Number(v || 0);
  const fmt = (n) => num(n).toLocaleString("en-US");
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "style") e.style.cssText = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }
  function bytes(n) {
    n = num(n);
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }
  function age(ms) {
    ms = num(ms);
    if (ms < 0) return "never";
    if (ms < 1000) return ms + " ms";
    if (ms < 120000) return (ms / 1000).toFixed(1) + " s";
    return Math.round(ms / 60000) + " min";
  }
  const stateName = (s) => String(s || "").replace("NODE_STATE_", "").toLowerCase();
  const roleName = (r) => String(r || "").replace("NAMENODE_ROLE_", "").toLowerCase();
  function colours(st) {
    const c = {};
    (st.nodes || []).forEach((ns, i) => { c[ns.node.id] = PALETTE[i % PALETTE.length]; });
    return c;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }

  // arc is the path of the ring sector of slots [first, first+count).
  function arc(first, count, r0, r1) {
    const a0 = first / SLOTS * 2 * Math.PI, a1 = (first + count) / SLOTS * 2 * Math.PI;
    const p = (r, a) => (r * Math.sin(a)).toFixed(3) + " " + (-r * Math.cos(a)).toFixed(3);
    const large = a1 - a0 > Math.PI ? 1 : 0;
    return "M" + p(r1, a0) + "A" + r1 + " " + r1 + " 0 " + large + " 1 " + p(r1, a1) +
      "L" + p(r0, a1) + "A" + r0 + " " + r0 + " 0 " + large + " 0 " + p(r0, a0) + "Z";
  }

  // witnessText says who votes and stages, how many may fail, and who is
  // silent.
  function witnessText(st) {
    const all = st.witnesses || [], silent = st.silent_witnesses || [];
    if (all.length === 0) return "none";
    let t = all.join(", ") + " (" + Math.floor((all.length - 1) / 2) + " may fail)";
    if (silent.length > 0) t += "; silent: " + silent.join(", ");
    return t;
  }

  function renderPair(st) {
    const box = $("pair");
    box.replaceChildren();
    const role = roleName(st.role);
    const alone = !st.peer;
    const shownRole = role === "unspecified" ? (alone ? "active" : "unknown") : role;
    const self = el("div", { class: "card", id: "self" },
      el("b", {}, st.namenode_id), " ", el("span", { class: "role role-" + shownRole, id: "role" }, shownRole),
      el("dl", {},
        el("dt", {}, "epoch"), el("dd", { id: "epoch" }, fmt(st.epoch)),
        el("dt", {}, "topology version"), el("dd", { id: "version" }, fmt(st.version)),
        el("dt", {}, "active"), el("dd", { id: "active-id" }, st.active_id || (alone ? st.namenode_id : "none known")),
        el("dt", {}, "quorum"), el("dd", {}, alone && !st.quorum ? "n/a" : (st.quorum ? "yes" : "no")),
        el("dt", {}, "witnesses"), el("dd", { id: "witnesses" }, witnessText(st)),
        el("dt", {}, "watchers"), el("dd", { id: "watchers" }, fmt(st.watchers))),
      st.reason ? el("div", { class: "reason", id: "reason" }, st.reason) : "");
    box.append(el("div", { class: "pair" }, self, alone
      ? el("div", { class: "card muted", id: "peer" }, "No peer NameNode configured: this NameNode runs alone.")
      : el("div", { class: "card", id: "peer" }, el("b", {}, st.peer.id || st.peer.addr), " (peer)",
        el("dl", {},
          el("dt", {}, "address"), el("dd", {}, st.peer.addr || ""),
          el("dt", {}, "version"), el("dd", {}, fmt(st.peer.version)),
          el("dt", {}, "lag"), el("dd", { id: "peer-lag" }, fmt(st.peer.lag_versions) + " versions"),
          el("dt", {}, "last heard"), el("dd", {}, age(st.peer.age_ms) + (num(st.peer.age_ms) >= 0 ? " ago" : ""))))));
  }

  function renderRing(st, rg) {
    const c = colours(st);
    const root = $("ring");
    root.replaceChildren();
    const draw = (runs, r0, r1, cls) => {
      for (const [first, count, idx] of runs || []) {
        const id = idx >= 0 ? rg.nodes[idx] : "";
        const fill = idx >= 0 ? (c[id] || UNOWNED) : UNOWNED;
        // An arc cannot span the whole circle: split long runs.
        for (let f = first, left = count; left > 0;) {
          const n = Math.min(left, SLOTS / 2);
          const p = svg("path", { d: arc(f, n, r0, r1), fill: fill, class: cls, "data-node": id });
          p.append(svg("title", {}));
          p.firstChild.textContent = (id || "unowned") + ": slots " + f + "–" + (f + n - 1);
          root.append(p);
          f += n; left -= n;
        }
      }
    };
    draw(rg.owners, 72, 104, "owner");
    draw(rg.target, 56, 68, "target");
    // Innermost: each node's share of the slots as one arc.
    const shares = [];
    let at = 0;
    for (const ns of st.nodes || []) {
      const n = num(ns.slots);
      if (n > 0) shares.push([at, n, rg.nodes.indexOf(ns.node.id)]);
      at += n;
    }
    if (at < SLOTS) shares.push([at, SLOTS - at, -1]);
    draw(shares, 40, 52, "share");
    const t = svg("text", { "text-anchor": "middle", y: "6", "font-size": "16" });
    t.textContent = "v" + fmt(rg.version);
    root.append(t);
    const legend = $("legend");
    legend.replaceChildren();
    for (const ns of st.nodes || []) {
      const share = (num(ns.slots) / SLOTS * 100).toFixed(1);
      legend.append(el("li", { "data-node": ns.node.id },
        el("span", { class: "swatch", style: "background:" + c[ns.node.id] }), " ", ns.node.id, ": ",
        el("span", { class: "share" }, share + "%"), " (" + fmt(ns.slots) + " slots)"));
    }
  }

  function renderNodes(st) {
    const c = colours(st);
    const body = $("nodes").querySelector("tbody");
    body.replaceChildren();
    const nodes = st.nodes || [];
    $("no-nodes").hidden = nodes.length > 0;
    $("nodes").hidden = nodes.length === 0;
    for (const ns of nodes) {
      const n = ns.node, l = n.load || {}, state = stateName(n.state);
      body.append(el("tr", { "data-node": n.id },
        el("td", {}, el("span", { class: "swatch", style: "background:" + c[n.id] })),
        el("td", { class: "id" }, n.id),
        el("td", { class: "addr" }, n.resp_addr),
        el("td", {}, el("span", { class: "state state-" + state }, state)),
        el("td", { class: "slots" }, fmt(ns.slots)),
        el("td", { class: "slots-in" }, fmt(ns.slots_in)),
        el("td", { class: "slots-out" }, fmt(ns.slots_out)),
        el("td", { class: "keys" }, fmt(l.keys)),
        el("td", { class: "memory" }, bytes(l.used_memory_bytes)),
        el("td", { class: "ops" }, fmt(l.ops_per_sec)),
        el("td", { class: "heartbeat" }, age(ns.heartbeat_age_ms))));
    }
  }

  // progress tracks the most slots seen left to move for key, and returns
  // the fraction moved since.
  function progress(key, left) {
    if (left <= 0) { delete peaks[key]; return 1; }
    peaks[key] = Math.max(peaks[key] || 0, left);
    return (peaks[key] - left) / peaks[key];
  }

  function bar(frac) {
    return el("div", { class: "bar" }, el("div", { style: "width:" + (frac * 100).toFixed(1) + "%" }));
  }

  function renderMigrations(st) {
    const box = $("migrations");
    box.replaceChildren();
    let total = 0;
    for (const ns of st.nodes || []) total += num(ns.slots_out);
    if (total === 0) {
      progress("cluster", 0);
      box.append(el("p", { class: "muted", id: "no-migrations" }, "No slot is moving: every slot is where the ring puts it."));
    } else {
      const f = progress("cluster", total);
      box.append(el("div", { class: "migration", id: "migration-cluster" },
        el("b", {}, "cluster: "), fmt(total) + " slots to move (" + (f * 100).toFixed(1) + "% done since this page opened)", bar(f)));
    }
    for (const ns of st.nodes || []) {
      const n = ns.node, l = n.load || {}, out = num(ns.slots_out), inc = num(ns.slots_in);
      const moving = num(l.migrating_slots), stuck = num(l.stuck_slots), state = stateName(n.state);
      if (out === 0 && inc === 0 && moving === 0 && stuck === 0) {
        progress(n.id + ":out", 0); progress(n.id + ":in", 0);
        if (state === "drained") {
          box.append(el("div", { class: "migration", "data-node": n.id },
            el("b", {}, n.id), " drained: owns no slots and can be stopped."));
        }
        continue;
      }
      const fo = progress(n.id + ":out", out), fi = progress(n.id + ":in", inc);
      const parts = [el("b", {}, n.id), " (" + state + ")"];
      if (out > 0) {
        parts.push(el("div", { class: "out" }, "sending: " + fmt(out) + " slots to go, " + fmt(moving) + " moving" +
          " (" + (fo * 100).toFixed(1) + "% since this page opened)", bar(fo)));
      }
      if (inc > 0) {
        parts.push(el("div", { class: "in" }, "receiving: " + fmt(inc) + " slots to come (" + (fi * 100).toFixed(1) + "%)", bar(fi)));
      }
      if (stuck > 0) parts.push(el("div", { class: "stuck" }, fmt(stuck) + " stuck (their moves keep failing; retried with backoff)"));
      parts.push(el("div", { class: "muted" }, "moved away since the node started: " + fmt(l.slots_moved) + " slots, " +
        fmt(l.keys_moved) + " keys, " + bytes(l.bytes_moved)));
      box.append(el("div", { class: "migration", "data-node": n.id }, ...parts));
    }
  }

  function render() {
    if (!status) return;
    renderPair(status);
    if (ring) renderRing(status, ring);
    renderNodes(status);
    renderMigrations(status);
    $("updated").textContent = "epoch " + fmt(status.epoch) + " · version " + fmt(status.version) +
      " · updated " + new Date(lastOK).toLocaleTimeString();
    document.body.dataset.version = String(status.version);
  }

  async function fetchJSON(path) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), Math.max(refreshMs, 1000));
    try {
      const r = await fetch(path, { cache: "no-store", signal: ctl.signal });
      if (!r.ok) throw new Error(path + ": " + r.status);
      return await r.json();
    } finally {
      clearTimeout(timer);
    }
  }

  async function refresh() {
    try {
      const st = await fetchJSON("status");
      if (!ring || String(ring.version) !== String(st.version) || String(ring.epoch) !== String(st.epoch)) {
        ring = await fetchJSON("ring");
      }
      status = st;
      lastOK = Date.now();
      $("error").hidden = true;
      render();
    } catch (e) {
      $("error").textContent = "cannot reach the NameNode (" + e.message + "); showing what it said at " +
        (lastOK ? new Date(lastOK).toLocaleTimeString() : "page load");
      $("error").hidden = false;
    } finally {
      setTimeout(refresh, refreshMs);
    }
  }

  try {
    status = JSON.parse($("initial-status").textContent);
    ring = JSON.parse($("initial-ring").textContent);
    lastOK = Date.now();
    render();
  } catch (e) {
    status = null;
  }
  setTimeout(refresh, refreshMs);
})();
