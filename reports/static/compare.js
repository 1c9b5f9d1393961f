/* Compare any two versions of a source, in the browser, with no server.
 *
 * A source's version texts ship beside its version pages as one script
 * (versions/<source>/_texts.js calling policywatchVersions), because browsers
 * refuse fetch() on file:// pages but do load scripts. The diff mirrors
 * analysis/diff.py: lines are aligned first, then words inside changed blocks.
 * Text is only ever inserted with textContent, never parsed as HTML, and
 * always through shown(): bidirectional controls (a right-to-left override
 * would reverse what a reader sees after it) become visible markers, <U+202E>,
 * as on every page the site renders (reports/render.py). _texts.js holds the
 * exact texts; only what is displayed is marked.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.compare");
  if (!form) { return; }
  form.hidden = false;  // without script the form could only reload the page: it stays hidden
  var status = document.querySelector(".compare-status");
  var result = document.querySelector(".compare-result");
  var texts = null;
  var waiting = null;
  var CONTEXT = 3;
  var EDIT_LIMIT = 4000;            // Myers steps before a block is shown as replaced whole
  var WORD_PRODUCT_LIMIT = 4000000; // as WORD_DIFF_LIMIT in analysis/diff.py

  window.policywatchVersions = function (data) {
    texts = data;
    if (waiting) { waiting(); }
  };

  function allowed(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) { return true; }
    }
    return false;
  }

  function load() {
    var script = document.createElement("script");
    script.src = form.getAttribute("data-texts");
    script.onerror = function () { say("The version texts could not be loaded."); };
    document.head.appendChild(script);
  }

  // As BIDI in reports/render.py.
  var BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

  function shown(text) {
    return text.replace(BIDI, function (c) {
      return "<U+" + ("000" + c.charCodeAt(0).toString(16).toUpperCase()).slice(-4) + ">";
    });
  }

  function textNode(text) { return document.createTextNode(shown(text)); }

  function say(message) { status.textContent = message; }

  // Myers' O(ND) shortest edit script; null when the sequences differ too much.
  function editScript(a, b) {
    var n = a.length, m = b.length, max = n + m;
    var v = { 1: 0 }, trace = [];
    for (var d = 0; d <= max; d++) {
      if (d > EDIT_LIMIT) { return null; }
      trace.push(Object.assign({}, v));
      for (var k = -d; k <= d; k += 2) {
        var x = (k === -d || (k !== d && v[k - 1] < v[k + 1])) ? v[k + 1] : v[k - 1] + 1;
        var y = x - k;
        while (x < n && y < m && a[x] === b[y]) { x++; y++; }
        v[k] = x;
        if (x >= n && y >= m) { return backtrack(trace, n, m); }
      }
    }
    return null;
  }

  function backtrack(trace, n, m) {
    var x = n, y = m, ops = [];
    for (var d = trace.length - 1; d >= 0; d--) {
      var v = trace[d], k = x - y;
      var prevK = (k === -d || (k !== d && v[k - 1] < v[k + 1])) ? k + 1 : k - 1;
      var prevX = v[prevK], prevY = prevX - prevK;
      while (x > prevX && y > prevY) { ops.push(["equal", x - 1, y - 1]); x--; y--; }
      if (d > 0) { ops.push(x === prevX ? ["insert", null, y - 1] : ["delete", x - 1, null]); }
      x = prevX; y = prevY;
    }
    return ops.reverse();
  }

  function push(out, op, text) {
    if (!text) { return; }
    var last = out[out.length - 1];
    if (last && last.op === op) { last.text += text; } else { out.push({ op: op, text: text }); }
  }

  function wordDiff(oldText, newText, out) {
    var a = oldText.match(/\S+|\s+/g) || [], b = newText.match(/\S+|\s+/g) || [];
    var ops = a.length * b.length <= WORD_PRODUCT_LIMIT ? editScript(a, b) : null;
    if (ops === null) { push(out, "delete", oldText); push(out, "insert", newText); return; }
    var dels = "", ins = "";
    ops.forEach(function (op) {
      if (op[0] === "equal") {
        push(out, "delete", dels); push(out, "insert", ins); dels = ins = "";
        push(out, "equal", b[op[2]]);
      } else if (op[0] === "delete") { dels += a[op[1]]; } else { ins += b[op[2]]; }
    });
    push(out, "delete", dels); push(out, "insert", ins);
  }

  // A lone space between two changes reads better inside them: "[-do not-]{+may+}", not "[-do-]{+may+} [-not-]".
  function cleanup(segments) {
    var out = [], dels = "", ins = "";
    segments.forEach(function (seg, i) {
      var absorb = seg.op === "equal" && /^[ \t]+$/.test(seg.text) && i > 0 && i < segments.length - 1 &&
        segments[i - 1].op !== "equal" && segments[i + 1].op !== "equal";
      if (seg.op === "delete" || absorb) { dels += seg.text; }
      if (seg.op === "insert" || absorb) { ins += seg.text; }
      if (seg.op === "equal" && !absorb) {
        push(out, "delete", dels); push(out, "insert", ins); dels = ins = "";
        push(out, "equal", seg.text);
      }
    });
    push(out, "delete", dels); push(out, "insert", ins);
    return out;
  }

  function splitLines(text) { return text.match(/[^\n]*\n|[^\n]+$/g) || []; }

  function diffTexts(oldText, newText) {
    var a = splitLines(oldText), b = splitLines(newText), out = [];
    var ops = editScript(a, b);
    if (ops === null) { push(out, "delete", oldText); push(out, "insert", newText); return out; }
    var dels = [], ins = [];
    function flush() {
      if (dels.length && ins.length) { wordDiff(dels.join(""), ins.join(""), out); }
      else { push(out, "delete", dels.join("")); push(out, "insert", ins.join("")); }
      dels = []; ins = [];
    }
    ops.forEach(function (op) {
      if (op[0] === "equal") { flush(); push(out, "equal", b[op[2]]); }
      else if (op[0] === "delete") { dels.push(a[op[1]]); }
      else { ins.push(b[op[2]]); }
    });
    flush();
    return cleanup(out);
  }

  function element(name, text, className) {
    var node = document.createElement(name);
    if (text !== undefined) { node.textContent = shown(text); }
    if (className) { node.className = className; }
    return node;
  }

  // Unchanged stretches longer than a few lines fold into <details>, as on change pages.
  function render(segments, container) {
    segments.forEach(function (seg, index) {
      if (seg.op !== "equal") {
        container.appendChild(element(seg.op === "insert" ? "ins" : "del", seg.text));
        return;
      }
      var lines = splitLines(seg.text);
      var first = index === 0, last = index === segments.length - 1;
      var head = first ? 0 : CONTEXT + (segments[index - 1].text.slice(-1) === "\n" ? 0 : 1);
      var tail = last ? 0 : CONTEXT + 1;
      if (lines.length <= head + tail + 1) { container.appendChild(textNode(seg.text)); return; }
      container.appendChild(textNode(lines.slice(0, head).join("")));
      var fold = element("details", undefined, "fold");
      fold.appendChild(element("summary", (lines.length - head - tail) + " unchanged line(s)"));
      fold.appendChild(textNode(lines.slice(head, lines.length - tail).join("")));
      container.appendChild(fold);
      container.appendChild(textNode(lines.slice(lines.length - tail).join("")));
    });
  }

  // Side by side, as on change pages (reports/diffview.py): rows pair up at every line break both sides share.
  function sideRows(segments) {
    var rows = [], oldBlock = [], newBlock = [], oldLine = [], newLine = [], oldNo = 0, newNo = 0;
    function flush() {
      for (var i = 0; i < Math.max(oldBlock.length, newBlock.length); i++) {
        var o = i < oldBlock.length ? oldBlock[i] : null, n = i < newBlock.length ? newBlock[i] : null;
        if (o !== null) { oldNo++; }
        if (n !== null) { newNo++; }
        rows.push({ oldNo: o !== null ? oldNo : null, old: o || [], newNo: n !== null ? newNo : null, added: n || [] });
      }
      oldBlock = []; newBlock = [];
    }
    segments.forEach(function (seg) {
      var side = seg.op === "equal" ? "both" : (seg.op === "delete" ? "old" : "new");
      splitLines(seg.text).forEach(function (part) {
        var ends = part.slice(-1) === "\n", body = ends ? part.slice(0, -1) : part;
        if (side === "both" && !oldLine.length && !newLine.length) { flush(); }
        if (side !== "new" && body) { oldLine.push({ op: seg.op, text: body }); }
        if (side !== "old" && body) { newLine.push({ op: seg.op, text: body }); }
        if (!ends) { return; }
        if (side !== "new") { oldBlock.push(oldLine); oldLine = []; }
        if (side !== "old") { newBlock.push(newLine); newLine = []; }
        if (side === "both") { flush(); }
      });
    });
    if (oldLine.length) { oldBlock.push(oldLine); }
    if (newLine.length) { newBlock.push(newLine); }
    flush();
    return rows;
  }

  function changed(row) {
    return row.oldNo === null || row.newNo === null || row.old.concat(row.added).some(function (p) { return p.op !== "equal"; });
  }

  // Unchanged rows further than CONTEXT from a change fold into one row; a single one is shown.
  function folded(rows) {
    var keep = rows.map(function () { return false; });
    rows.forEach(function (row, i) {
      if (!changed(row)) { return; }
      for (var j = Math.max(0, i - CONTEXT); j <= Math.min(rows.length - 1, i + CONTEXT); j++) { keep[j] = true; }
    });
    var out = [], index = 0;
    while (index < rows.length) {
      if (keep[index]) { out.push(rows[index]); index++; continue; }
      var end = index;
      while (end < rows.length && !keep[end]) { end++; }
      if (end - index === 1) { out.push(rows[index]); } else { out.push({ fold: end - index }); }
      index = end;
    }
    return out;
  }

  function cell(className, pieces) {
    var td = element("td", undefined, className);
    pieces.forEach(function (p) {
      td.appendChild(p.op === "equal" ? textNode(p.text) : element(p.op === "insert" ? "ins" : "del", p.text));
    });
    return td;
  }

  function sideTable(segments, a, b) {
    var table = element("table", undefined, "sbs");
    table.appendChild(element("caption", "Version " + a + " (left) and version " + b + " (right), line by line", "muted"));
    var cols = element("colgroup");
    ["no", "", "no", ""].forEach(function (name) { cols.appendChild(element("col", undefined, name)); });
    table.appendChild(cols);
    var head = element("tr");
    ["Line", "v" + a, "Line", "v" + b].forEach(function (label) {
      var th = element("th", label);
      th.setAttribute("scope", "col");
      head.appendChild(th);
    });
    table.appendChild(element("thead")).appendChild(head);
    var body = table.appendChild(element("tbody"));
    folded(sideRows(segments)).forEach(function (row) {
      var tr = body.appendChild(element("tr"));
      if (row.fold) {
        tr.className = "fold";
        var td = tr.appendChild(element("td", "⋯ " + row.fold + " unchanged line(s) ⋯"));
        td.setAttribute("colspan", "4");
        return;
      }
      if (changed(row)) { tr.className = "changed"; }
      tr.appendChild(element("td", row.oldNo === null ? "" : String(row.oldNo), "no"));
      tr.appendChild(cell("old", row.old));
      tr.appendChild(element("td", row.newNo === null ? "" : String(row.newNo), "no"));
      tr.appendChild(cell("new", row.added));
    });
    var wrap = element("div", undefined, "table-wrap");
    wrap.appendChild(table);
    return wrap;
  }

  function link(href, text) {
    var a = element("a", text);
    a.setAttribute("href", href);
    return a;
  }

  function compare(a, b) {
    var segments = diffTexts(texts[a], texts[b]);
    var added = 0, removed = 0;
    segments.forEach(function (seg) {
      var words = (seg.text.match(/\S+/g) || []).length;
      if (seg.op === "insert") { added += words; } else if (seg.op === "delete") { removed += words; }
    });
    result.textContent = "";
    result.appendChild(element("h3", "Version " + a + " → version " + b + ": +" + added + " / −" + removed + " words"));
    if (added + removed === 0 && texts[a] === texts[b]) {
      result.appendChild(element("div", "The two versions have the same text.", "diff"));
      say("");
      return;
    }
    // Two views, switched by links and CSS (:target) as on change pages.
    var nav = element("nav", undefined, "viewswitch");
    nav.setAttribute("aria-label", "Comparison view");
    nav.appendChild(link("#compare-inline", "Inline"));
    nav.appendChild(link("#compare-side-by-side", "Side by side"));
    result.appendChild(nav);
    var views = element("div", undefined, "views");
    var side = element("section", undefined, "view-sbs");
    side.id = "compare-side-by-side";
    side.setAttribute("aria-label", "Side by side");
    side.appendChild(sideTable(segments, a, b));
    var inline = element("section", undefined, "view-inline");
    inline.id = "compare-inline";
    inline.setAttribute("aria-label", "Inline");
    var box = element("div", undefined, "diff");
    render(segments, box);
    inline.appendChild(box);
    views.appendChild(side);
    views.appendChild(inline);
    result.appendChild(views);
    say("");
  }

  var params = new URLSearchParams(window.location.search);
  var a = params.get("a"), b = params.get("b");
  var selects = form.querySelectorAll("select");
  if (a === null || b === null) { return; }
  if (!allowed(selects[0], a) || !allowed(selects[1], b)) { say("Choose two versions of this source."); return; }
  selects[0].value = a;
  selects[1].value = b;
  say("Comparing version " + a + " with version " + b + "…");
  waiting = function () {
    waiting = null;
    if (typeof texts[a] !== "string" || typeof texts[b] !== "string") { say("These versions are not in the report."); return; }
    compare(a, b);
    if (window.location.hash === "#compare-side-by-side") {
      // A link to the side by side view: its section exists only now, so the fragment is followed again.
      window.location.replace(window.location.href);
    } else {
      document.getElementById("compare").scrollIntoView();
    }
  };
  load();
}());
