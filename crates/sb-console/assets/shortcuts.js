// Keyboard shortcuts of the workspace. Single keys act only when no text field has focus;
// Escape leaves a text field. "?" shows the list (the same list as the help dialog).

const bindings = new Map();

export function bind(key, action) {
  bindings.set(key, action);
}

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function install() {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const action = bindings.get(event.key);
    if (!action) return;
    event.preventDefault();
    action();
  });
}
