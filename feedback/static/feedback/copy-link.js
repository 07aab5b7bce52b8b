// Admin: a button with data-copy="<input id>" copies that input's text to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  input.select();
  navigator.clipboard.writeText(input.value).then(() => { button.textContent = "✓"; });
});
