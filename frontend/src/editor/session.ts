// Logging in again from inside the editor when the session expired, so the queue of
// unsaved edits (in memory and localStorage) is sent as soon as the user is back.

import { csrfToken } from "../lib/api";
import { $ } from "../lib/dom";

async function logIn(loginUrl: string, probeUrl: string, form: HTMLFormElement): Promise<boolean> {
  // Fetching the login page sets a fresh CSRF cookie; Django rotates it on login.
  await fetch(loginUrl, { credentials: "same-origin" });
  const body = new URLSearchParams(new FormData(form) as unknown as Record<string, string>);
  body.set("csrfmiddlewaretoken", csrfToken());
  await fetch(loginUrl, {
    method: "POST",
    body,
    credentials: "same-origin",
    redirect: "manual",
    headers: { "X-CSRFToken": csrfToken() },
  });
  const probe = await fetch(probeUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  return probe.ok;
}

/** Resolves once the user has logged in again through the dialog. */
export function relogin(loginUrl: string, probeUrl: string): Promise<void> {
  const dialog = $("#login-dialog") as HTMLDialogElement;
  const form = $("#login-form") as HTMLFormElement;
  const error = $("#login-error");
  error.hidden = true;
  dialog.showModal();
  // The dialog cannot be dismissed: the edits need a session to be saved.
  dialog.addEventListener("cancel", (event) => event.preventDefault());
  return new Promise((resolve) => {
    const submit = async (event: SubmitEvent) => {
      event.preventDefault();
      let ok = false;
      try {
        ok = await logIn(loginUrl, probeUrl, form);
      } catch {
        error.textContent = "The server cannot be reached; check the connection and try again.";
        error.hidden = false;
        return;
      }
      if (!ok) {
        error.textContent = "E-mail or password is wrong, or this account is no longer in the project.";
        error.hidden = false;
        return;
      }
      form.removeEventListener("submit", submit);
      form.reset();
      dialog.close();
      resolve();
    };
    form.addEventListener("submit", submit);
  });
}
