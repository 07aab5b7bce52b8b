// The menu folds behind one button on narrow screens; without JavaScript it simply stays open.
(function () {
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
