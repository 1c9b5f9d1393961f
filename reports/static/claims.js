/* Claims index: show only the claims with the chosen status, in the page, with no server.
 * Without this script every claim is listed; the status is also in each row's badge.
 * The chosen status is kept in the address (#status=weakened), so a filtered view can be linked.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.claims-filter");
  if (!form) { return; }
  var select = form.querySelector("select");
  var output = form.querySelector("output");
  var rows = document.querySelectorAll("table.claims tbody tr");

  function apply() {
    var wanted = select.value;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var match = !wanted || rows[i].getAttribute("data-status") === wanted;
      rows[i].hidden = !match;
      if (match) { shown++; }
    }
    output.textContent = shown + " of " + rows.length + " claims";
  }

  function fromHash() {
    var match = /^#status=([a-z_]+)$/.exec(window.location.hash);
    var value = match ? match[1] : "";
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) { select.value = value; return; }
    }
    select.value = "";
  }

  select.addEventListener("change", function () {
    var hash = select.value ? "#status=" + select.value : "";
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search + hash);
    }
    apply();
  });
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  form.hidden = false;
  fromHash();
  apply();
}());
