/**
 * Secrets out of text, wherever they appear in it: every configured secret value (the
 * deployment's provider keys, webhook secrets, signing keys) and anything shaped like a
 * credential (bearer and basic credentials, provider API keys, JWTs, `key=…` parameters,
 * credential headers quoted in JSON). The logger passes every string it writes through one of
 * these, at any depth; adapters use `excerpt` for the bounded upstream text they keep for logs.
 * Field names are the logger's other line of defence (`isSecretField`).
 */

const REDACTED = "[redacted]";

/** Values shorter than this are not treated as secrets: they would match ordinary words. */
const MIN_SECRET_LENGTH = 8;

/**
 * What a credential after a scheme looks like: at least 6 characters, one of them a digit or a
 * symbol of base64 and tokens ("Basic information." is prose).
 */
const CREDENTIAL = "(?=[A-Za-z.]*[0-9+/=_~:-])[A-Za-z0-9._~+/:=-]{6,}";

/**
 * Credential shapes, each replaced keeping its leading label (group 1) when it has one. Every
 * pattern is linear in the text: no run of a character class is followed by something the
 * pattern requires, so a hostile string cannot make one backtrack (a log line is redacted on
 * every request).
 */
const CREDENTIAL_PATTERNS: readonly RegExp[] = [
  // Credential headers or fields quoted in JSON (Go servers quote them in a list: ["…"]) or
  // written as `name: value` / `name=value`, with their scheme if any.
  /((?:["']?)(?:authorization|x-api-key|api-key|x-goog-api-key|apikey|api_key|access_token|client_secret|password|secret)["']?\s*[:=]\s*\[?["']?)(?:(?:[Bb]earer|Basic|Token|DeepL-Auth-Key)\s+)?[^"'\s,&}\]]{4,}/gi,
  // Authorization schemes anywhere else: `Bearer eyJ…`, `Basic dXNl…`, `DeepL-Auth-Key 123…`
  // (case-sensitive: "the first token within" is prose, not a credential).
  new RegExp(`\\b((?:[Bb]earer|Basic|DeepL-Auth-Key)\\s+)${CREDENTIAL}`, "g"),
  // `?key=…` and its kin in URLs.
  /([?&](?:key|api_key|apikey|token|access_token|auth|sig|signature)=)[^&\s"'#]+/gi,
  // API keys: OpenAI (`sk-…`, `sk-proj-…`), Anthropic (`sk-ant-…`), Stripe (`sk_live_…`,
  // `rk_…`, `whsec_…`), Stratus's own (`sk_…`), Google (`AIza…`), Resend (`re_…`).
  /()\b(?:sk|rk|pk)[-_][A-Za-z0-9_-]{16,}/g,
  /()\bwhsec_[A-Za-z0-9+/=_-]{8,}/g,
  /()\bAIza[0-9A-Za-z_-]{20,}/g,
  /()\bre_[A-Za-z0-9_]{16,}/g,
  // JSON Web Tokens (and any base64url JSON): the header, then whatever dotted parts follow.
  /()\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*)*/g,
];

/** Longer strings are cut before they are redacted or written: logs need no more, and redaction stays cheap. */
export const MAX_LOGGED_CHARS = 8_192;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export class Redactor {
  private readonly secrets: RegExp | null;

  /** `secrets`: exact values to remove wherever they appear (short ones are ignored). */
  constructor(secrets: Iterable<string> = []) {
    const values = [...new Set(secrets)].filter((value) => value.length >= MIN_SECRET_LENGTH);
    // Longest first, so a secret containing another is removed whole.
    values.sort((a, b) => b.length - a.length);
    this.secrets = values.length > 0 ? new RegExp(values.map(escapeRegExp).join("|"), "g") : null;
  }

  /** The text without secrets, cut to MAX_LOGGED_CHARS first. */
  text(text: string): string {
    const bounded = text.length > MAX_LOGGED_CHARS ? `${text.slice(0, MAX_LOGGED_CHARS)}…` : text;
    let out = this.secrets ? bounded.replace(this.secrets, REDACTED) : bounded;
    for (const pattern of CREDENTIAL_PATTERNS) out = out.replace(pattern, (_, label = "") => `${label}${REDACTED}`);
    return out;
  }

  /** A bounded, redacted excerpt of an upstream's text, for logs only (never for clients). */
  excerpt(text: string, maxChars = EXCERPT_CHARS): string {
    // Redacted before it is cut, so a secret straddling the cut cannot survive in part.
    const clean = this.text(text);
    return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean;
  }
}

/** How much of an upstream's body a log line keeps. */
const EXCERPT_CHARS = 300;

/** Pattern-only redaction, for code that has no configuration at hand. */
export const patternRedactor = new Redactor();
