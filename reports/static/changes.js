/* Filter a list of changes by vendor, flag, severity and kind, and switch the changes feeds leave out
 * (formatting only, reverts, re-extractions) on and off, in the browser, with no server.
 *
 * The page holds every item of the list; each carries its values as data
 * attributes (several values separated by "|"), as coverage.js reads them.
 * Without scripts the form stays hidden and the list stays as built: on the
 * index, the announced changes only (changes.html lists every kind).
 */
(function () {
  "use strict";

  function matches(item, name, wanted) {
    if (!wanted) { return true; }
    var values = (item.getAttribute("data-" + name) || "").split("|");
    return values.indexOf(wanted) !== -1;
  }

  function setUp(form) {
    var list = document.getElementById(form.getAttribute("data-list"));
    if (!list) { return; }
    var items = [];
    for (var i = 0; i < list.children.length; i++) {
      if (list.children[i].hasAttribute("data-announced")) { items.push(list.children[i]); }
    }
    var count = form.querySelector(".change-count");
    var names = ["vendor", "flag", "severity", "kind"];
    var all = form.elements.all;

    function apply() {
      var shown = 0, quiet = 0;
      for (var i = 0; i < items.length; i++) {
        var item = items[i];
        var keep = (all && all.checked) || item.getAttribute("data-announced") === "yes";
        for (var n = 0; n < names.length && keep; n++) {
          var select = form.elements[names[n]];
          if (select && !matches(item, names[n], select.value)) { keep = false; }
        }
        item.hidden = !keep;
        if (keep) { shown++; }
        if (item.getAttribute("data-announced") !== "yes") { quiet++; }
      }
      count.textContent = shown + " of " + items.length + " shown" +
        (all && !all.checked && quiet ? " (" + quiet + " not announced, hidden)" : "");
    }

    form.hidden = false;
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
    apply();
  }

  var forms = document.querySelectorAll("form.change-filter");
  for (var f = 0; f < forms.length; f++) { setUp(forms[f]); }
}());
