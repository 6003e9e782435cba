import { z } from "@hono/zod-openapi";

/**
 * Language codes: clients send BCP 47 tags (`de`, `en-GB`, `zh-Hant-TW`), validated and put in
 * canonical case by `Intl`; each provider gets its own dialect of them, and answers in its
 * dialect come back as BCP 47.
 */

export function canonicalLanguage(tag: string): string | null {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    // `und` and private-use tags name no language a provider could translate into.
    return canonical && !/^(und|x-)/i.test(canonical) ? canonical : null;
  } catch {
    return null;
  }
}

export const LanguageSchema = z
  .string()
  .max(35)
  .transform((tag, ctx) => {
    const canonical = canonicalLanguage(tag);
    if (!canonical) ctx.addIssue({ code: "custom", message: "must be a BCP 47 language tag, such as de or en-GB" });
    return canonical ?? tag;
  })
  .openapi({ type: "string", example: "de" });

const primary = (tag: string) => (tag.split("-")[0] ?? tag).toLowerCase();
const region = (tag: string) => new Intl.Locale(tag).maximize().region;
const script = (tag: string) => new Intl.Locale(tag).maximize().script;

/** Google's codes: the language, with the variants Google tells apart (Chinese by script, pt-PT, fr-CA). */
export function googleCode(tag: string): string {
  const language = primary(tag);
  if (language === "zh") return script(tag) === "Hant" ? "zh-TW" : "zh-CN";
  if (language === "pt" && region(tag) === "PT") return "pt-PT";
  if (language === "fr" && region(tag) === "CA") return "fr-CA";
  return language;
}

/** DeepL's target codes: upper case, English, Portuguese and Chinese by variant (plain `EN` is deprecated). */
export function deeplTarget(tag: string): string {
  const language = primary(tag);
  if (language === "en") return region(tag) === "GB" ? "EN-GB" : "EN-US";
  if (language === "pt") return region(tag) === "PT" ? "PT-PT" : "PT-BR";
  if (language === "zh") return script(tag) === "Hant" ? "ZH-HANT" : "ZH-HANS";
  return language.toUpperCase();
}

export const deeplSource = (tag: string) => primary(tag).toUpperCase();

/** A provider's code as BCP 47 (`EN-GB` → `en-GB`, `zh-CN` → `zh-CN`). */
export const fromProviderCode = (code: string) => canonicalLanguage(code) ?? code.toLowerCase();
