// The manage page's time-zone field, helped by the browser: offer this device's time zone, and
// fill it in while the saved zone is the default one. Nothing is saved until the form is sent,
// and the page works without this file (the field is a plain input with a list of zones).
"use strict";
(function () {
  var input = document.getElementById("timezone");
  var offer = document.getElementById("use-device-zone");
  var note = document.getElementById("device-zone-note");
  var list = input && document.getElementById(input.getAttribute("list"));
  if (!input || !offer || !note || !list || !window.Intl) {
    return;
  }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var known = Array.prototype.some.call(list.options, function (option) {
    return option.value === zone;
  });
  if (!zone || !known || zone === input.value) {
    return;
  }
  function useDeviceZone() {
    input.value = zone;
    note.hidden = false;
    offer.hidden = true;
  }
  offer.textContent = "Use this device's time zone (" + zone + ")";
  offer.hidden = false;
  offer.addEventListener("click", function () {
    useDeviceZone();
    input.focus();
  });
  if (input.dataset.default === "yes") {
    useDeviceZone();
  }
})();
