// Assessment form: live progress, "not applicable" clears the level, warn before losing edits, and
// after a save that left some practices unsaved, take the person to the first one.
(function () {
  "use strict";
  var form = document.getElementById("assessment-form");
  if (!form) { return; }
  var practices = Array.prototype.slice.call(form.querySelectorAll("[data-practice]"));
  var counter = document.getElementById("answered-count");
  var bar = document.getElementById("progress");
  // The server marks the form when it shows values it could not save: leaving would lose them.
  var dirty = form.getAttribute("data-unsaved") === "true";

  function focusPractice(code) {
    var el = document.getElementById("practice-" + code);
    if (!el) { return false; }
    var field = el.querySelector('[aria-invalid="true"]') ||
      el.querySelector('input:not([type="hidden"]):not([disabled]), textarea:not([disabled]), select:not([disabled])');
    el.scrollIntoView({ block: "start" });
    if (field) { field.focus({ preventScroll: true }); }
    return true;
  }

  function isAnswered(el) {
    var na = el.querySelector(".na-toggle");
    if (na && na.checked) {
      var just = el.querySelector(".na-justification textarea");
      return !!(just && just.value.trim());
    }
    return !!el.querySelector('input[type="radio"]:checked');
  }

  function refresh() {
    var answered = practices.filter(isAnswered).length;
    if (counter) { counter.textContent = String(answered); }
    if (bar) {
      bar.setAttribute("aria-valuenow", String(answered));
      var fill = bar.querySelector("span");
      if (fill) { fill.style.width = Math.round(100 * answered / Math.max(practices.length, 1)) + "%"; }
    }
  }

  practices.forEach(function (el) {
    var na = el.querySelector(".na-toggle");
    var radios = el.querySelectorAll('input[type="radio"]');
    if (na) {
      na.addEventListener("change", function () {
        if (na.checked) { radios.forEach(function (r) { r.checked = false; }); }
        refresh();
      });
    }
    radios.forEach(function (r) {
      r.addEventListener("change", function () { if (na && r.checked) { na.checked = false; } refresh(); });
    });
  });
  form.addEventListener("input", function () { dirty = true; refresh(); });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  var attention = document.getElementById("attention");
  if (attention) {
    attention.querySelectorAll("[data-focus-practice]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (focusPractice(link.getAttribute("data-focus-practice"))) { event.preventDefault(); }
      });
    });
    var first = form.querySelector(".practice.has-error");
    if (first) { focusPractice(first.getAttribute("data-practice")); }
  }
  refresh();
})();
