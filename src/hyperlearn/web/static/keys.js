// Keyboard answering: number keys pick a choice; Enter on a feedback page goes to the next one.
document.addEventListener("keydown", (event) => {
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const choice = document.querySelector(`.options button[data-key="${event.key}"]`);
  if (choice) {
    event.preventDefault();
    choice.click();
    return;
  }
  const next = document.getElementById("next");
  if (next && event.key === "Enter") {
    event.preventDefault();
    next.click();
  }
});
