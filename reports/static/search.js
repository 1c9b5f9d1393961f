/* The site's search page: Pagefind's index, queried in the browser.
 *
 * Pagefind's script, index and WebAssembly are fetched from this site; browsers
 * refuse such fetches on pages opened from disk (file://), so the page says
 * how to serve the site instead. Excerpts come from the index as HTML with
 * <mark> around matched words: they are parsed inert and rebuilt from their
 * text, so nothing but text and <mark> ever reaches the page. A classic script (not a module), so it
 * runs from file:// too and can say so.
 */
(function () {
  "use strict";

  const form = document.querySelector("form.search");
  const status = document.querySelector(".search-status");
  const list = document.querySelector(".search-results");
  const input = document.getElementById("search-q");
  const selects = Array.from(document.querySelectorAll("select[data-filter]"));
  const root = new URL(".", document.baseURI);

  function say(text) { status.textContent = text; }

  function excerpt(html) {
    const fragment = document.createDocumentFragment();
    const parsed = new DOMParser().parseFromString("<body>" + html, "text/html");
    for (const node of parsed.body.childNodes) {
      if (node.nodeType === Node.ELEMENT_NODE && node.nodeName === "MARK") {
        const mark = document.createElement("mark");
        mark.textContent = node.textContent;
        fragment.appendChild(mark);
      } else {
        fragment.appendChild(document.createTextNode(node.textContent));
      }
    }
    return fragment;
  }

  function sameSite(url) {
    const target = new URL(url, root);
    return target.origin === root.origin ? target.href : root.href;
  }

  async function start() {
    if (location.protocol === "file:") {
      say("Search needs the site served over HTTP: browsers do not let a page opened from disk read its index. " +
          "Run `policywatch serve --out <this folder>` (or any web server) and open the page from there.");
      return;
    }
    let pagefind;
    try {
      pagefind = await import(new URL(form.dataset.index, root).href);
      await pagefind.options({ baseUrl: root.pathname });
    } catch (error) {
      say("The search index cannot be loaded (" + error + "). It is built by `policywatch report` when Pagefind " +
          "is installed: pip install -e '.[search]'.");
      return;
    }
    const available = await pagefind.filters();
    for (const select of selects) {
      const values = Object.keys(available[select.dataset.filter] || {}).sort();
      for (const value of values) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = value + " (" + available[select.dataset.filter][value] + ")";
        select.appendChild(option);
      }
    }
    const params = new URLSearchParams(location.search);
    input.value = params.get("q") || "";
    for (const select of selects) {
      const wanted = params.get(select.dataset.filter);
      if (wanted && Array.from(select.options).some((o) => o.value === wanted)) { select.value = wanted; }
    }
    let generation = 0;
    async function run() {
      const mine = ++generation;
      const filters = {};
      for (const select of selects) { if (select.value) { filters[select.dataset.filter] = select.value; } }
      const query = input.value.trim();
      if (!query && !Object.keys(filters).length) { list.replaceChildren(); say("Type some words, or choose a filter."); return; }
      const found = await pagefind.search(query || null, { filters });
      if (mine !== generation) { return; }
      const shown = await Promise.all(found.results.slice(0, 30).map((r) => r.data()));
      if (mine !== generation) { return; }
      list.replaceChildren();
      for (const data of shown) {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = sameSite(data.url);
        link.textContent = (data.meta && data.meta.title) || data.url;
        const text = document.createElement("p");
        text.appendChild(excerpt(data.excerpt || ""));
        item.append(link, text);
        list.appendChild(item);
      }
      say(found.results.length + " page(s) found" + (found.results.length > 30 ? "; the first 30 are shown" : "") + ".");
    }
    let timer = null;
    const later = () => { clearTimeout(timer); timer = setTimeout(run, 200); };
    input.addEventListener("input", later);
    for (const select of selects) { select.addEventListener("change", run); }
    form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
    say("");
    if (input.value || selects.some((s) => s.value)) { run(); }
  }

  start();
})();
