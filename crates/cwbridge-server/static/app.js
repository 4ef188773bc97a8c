// cwbridge wizard: small helps on top of pages that work without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Filter a list's options as the user types in its search box.
  for (const input of document.querySelectorAll("input[data-filter]")) {
    const select = document.getElementById(input.dataset.filter);
    if (!select) continue;
    input.addEventListener("input", () => {
      const words = input.value.trim().toLowerCase();
      for (const option of select.options) {
        if (!option.value) continue;
        option.hidden = words !== "" && !option.textContent.toLowerCase().includes(words);
      }
    });
  }
  // Offer only the chosen board's statuses and types.
  const board = document.querySelector("select[data-board]");
  if (board) {
    const follow = () => {
      const name = board.selectedOptions[0] ? board.selectedOptions[0].textContent : "";
      for (const select of document.querySelectorAll("select[data-of-board]")) {
        for (const group of select.querySelectorAll("optgroup")) {
          const mine = group.label === name;
          group.hidden = !mine;
          group.disabled = !mine;
        }
        const chosen = select.selectedOptions[0];
        if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.disabled) {
          select.value = "";
        }
      }
    };
    board.addEventListener("change", follow);
    follow();
  }
  // Ticking or unticking a single alert type means "only the ones ticked".
  for (const set of document.querySelectorAll("fieldset.alert-types")) {
    const some = set.querySelector("input[type=radio][value=some]");
    for (const t of set.querySelectorAll("input[type=checkbox]")) {
      t.addEventListener("change", () => { if (some) some.checked = true; });
    }
  }
  // Put the focus on the error summary of a refused form.
  const summary = document.querySelector(".error-summary[tabindex]");
  if (summary) summary.focus();
});
