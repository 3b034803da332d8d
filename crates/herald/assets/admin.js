// Herald admin: the one progressive touch. Forms marked data-confirm ask before they submit
// (deleting, revoking); without JavaScript they submit straight away.
document.addEventListener('submit', (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
