// Tables wider than the screen scroll sideways in their own box. The box becomes a labelled region
// that the keyboard can reach (Tab, then the arrow keys scroll it), and a visible hint says that
// more columns wait to the right. Re-applied after htmx swaps new figures in.
(function () {
  "use strict";

  function nameOf(box) {
    var caption = box.querySelector("caption");
    var section = box.closest("section, article");
    var heading = section && section.querySelector("h2, h3");
    return ((caption || heading || {}).textContent || document.title).trim();
  }

  function enhance(root) {
    root.querySelectorAll(".dash-scroll, .table-scroll").forEach(function (box) {
      if (box.dataset.scrollReady) return;
      box.dataset.scrollReady = "1";
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", nameOf(box));
      var hint = document.createElement("p");
      hint.className = "scroll-hint";
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = document.body.dataset.scrollHint || "→";
      box.parentNode.insertBefore(hint, box);
      function update() {
        hint.hidden = box.scrollWidth <= box.clientWidth + 1;
        box.classList.toggle("is-scrolled", box.scrollLeft > 0);
      }
      box.addEventListener("scroll", update, { passive: true });
      window.addEventListener("resize", update);
      update();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    enhance(event.detail.elt.parentNode || document);
  });
})();
