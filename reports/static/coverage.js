/* Filter the Coverage list by language, outlet, vendor, flag and claim, in the browser, with no server.
 *
 * Every article is in the page; each list item carries its values as data
 * attributes (several values separated by "|"). Without scripts the form
 * stays hidden and every article is listed.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.coverage-filter");
  if (!form) { return; }
  var items = document.querySelectorAll("ul.coverage > li");
  var count = form.querySelector(".coverage-count");
  var names = ["language", "outlet", "vendor", "flag", "claim"];

  function matches(item, name, wanted) {
    if (!wanted) { return true; }
    var values = (item.getAttribute("data-" + name) || "").split("|");
    return values.indexOf(wanted) !== -1;
  }

  function apply() {
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var item = items[i], keep = true;
      for (var n = 0; n < names.length; n++) {
        var select = form.elements[names[n]];
        if (select && !matches(item, names[n], select.value)) { keep = false; }
      }
      item.hidden = !keep;
      if (keep) { shown++; }
    }
    count.textContent = shown + " of " + items.length + " article(s) shown";
  }

  form.hidden = false;
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  apply();
}());
