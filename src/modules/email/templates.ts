/** Email templates, each in text and HTML. Values are escaped for HTML; links come from APP_URL. */

type RenderedEmail = { subject: string; text: string; html: string };

const escapeHtml = (value: string) =>
  value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

function layout(title: string, paragraphs: string[], action: { label: string; url: string }): string {
  const body = paragraphs.map((text) => `<p>${escapeHtml(text)}</p>`).join("\n");
  return `<!doctype html><html><body style="font-family:sans-serif;max-width:560px;margin:auto">
<h1 style="font-size:20px">${escapeHtml(title)}</h1>
${body}
<p><a href="${escapeHtml(action.url)}" style="display:inline-block;padding:10px 16px;background:#2563eb;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(action.label)}</a></p>
<p style="color:#666;font-size:12px">If the button does not work, open ${escapeHtml(action.url)}</p>
</body></html>`;
}

function render(subject: string, paragraphs: string[], action: { label: string; url: string }): RenderedEmail {
  return {
    subject,
    text: `${paragraphs.join("\n\n")}\n\n${action.label}: ${action.url}\n`,
    html: layout(subject, paragraphs, action),
  };
}

const link = (appUrl: string, path: string, token: string) =>
  `${appUrl.replace(/\/$/, "")}${path}?token=${encodeURIComponent(token)}`;

export const templates = {
  verifyEmail: (data: { appUrl: string; name: string; token: string }) =>
    render(
      "Confirm your email address",
      [`Hello ${data.name},`, "Confirm that this address is yours. The link works once, for 24 hours."],
      { label: "Confirm email", url: link(data.appUrl, "/verify-email", data.token) },
    ),
  changeEmail: (data: { appUrl: string; name: string; token: string }) =>
    render(
      "Confirm your new email address",
      [
        `Hello ${data.name},`,
        "Confirm this address to make it the one your account uses. The link works once, for 24 hours.",
      ],
      { label: "Confirm new email", url: link(data.appUrl, "/verify-email", data.token) },
    ),
  resetPassword: (data: { appUrl: string; name: string; token: string }) =>
    render(
      "Reset your password",
      [
        `Hello ${data.name},`,
        "Someone asked to reset the password of this account. The link works once, for 1 hour; every session ends when it is used.",
        "If it was not you, ignore this email: your password stays as it is.",
      ],
      { label: "Choose a new password", url: link(data.appUrl, "/reset-password", data.token) },
    ),
  invitation: (data: { appUrl: string; orgName: string; inviterName: string; role: string; token: string }) =>
    render(
      `Join ${data.orgName} on Stratus`,
      [
        `${data.inviterName} invited you to join ${data.orgName} as ${data.role}.`,
        "Sign in with this email address (verified) to accept. The invitation works once, for 7 days.",
      ],
      { label: "Accept the invitation", url: link(data.appUrl, "/accept-invitation", data.token) },
    ),
  paymentFailed: (data: { appUrl: string; name: string; planName: string; graceEndsAt: string }) =>
    render(
      "Your payment did not go through",
      [
        `Hello ${data.name},`,
        `We could not collect the payment for your ${data.planName} subscription.`,
        `Update your payment method before ${data.graceEndsAt}: after that date the account moves to the free plan.`,
      ],
      { label: "Update payment method", url: `${data.appUrl.replace(/\/$/, "")}/billing` },
    ),
} satisfies Record<string, (data: never) => RenderedEmail>;

export type TemplateName = keyof typeof templates;
