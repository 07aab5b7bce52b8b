// The menu folds behind one button on narrow screens; without JavaScript it simply stays open.
// Disclosures marked .fold-on-phone (the dashboard filters) start open on a desk.
(function () {
  if (window.matchMedia("(min-width: 768px)").matches) {
    document.querySelectorAll("details.fold-on-phone").forEach(function (details) {
      details.open = true;
    });
  }
  const button = document.querySelector(".menu-button");
  const menu = document.getElementById("site-menu");
  if (!button || !menu) return;
  button.hidden = false;
  document.documentElement.classList.add("menu-folds");
  button.addEventListener("click", function () {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
})();
