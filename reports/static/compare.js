/* Compare any two versions of a source, in the browser, with no server.
 *
 * A source's version texts ship beside its version pages as one script
 * (versions/<source>/_texts.js calling policywatchVersions), because browsers
 * refuse fetch() on file:// pages but do load scripts. The diff mirrors
 * analysis/diff.py: lines are aligned first, then words inside changed blocks.
 * Text is only ever inserted with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.compare");
  if (!form) { return; }
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
    if (text !== undefined) { node.textContent = text; }
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
      if (lines.length <= head + tail + 1) { container.appendChild(document.createTextNode(seg.text)); return; }
      container.appendChild(document.createTextNode(lines.slice(0, head).join("")));
      var fold = element("details", undefined, "fold");
      fold.appendChild(element("summary", (lines.length - head - tail) + " unchanged line(s)"));
      fold.appendChild(document.createTextNode(lines.slice(head, lines.length - tail).join("")));
      container.appendChild(fold);
      container.appendChild(document.createTextNode(lines.slice(lines.length - tail).join("")));
    });
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
    var box = element("div", undefined, "diff");
    if (added + removed === 0 && texts[a] === texts[b]) {
      box.textContent = "The two versions have the same text.";
    } else {
      render(segments, box);
    }
    result.appendChild(box);
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
    document.getElementById("compare").scrollIntoView();
  };
  load();
}());
