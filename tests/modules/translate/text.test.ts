import { describe, expect, it } from "vitest";
import { type Cached, writeCache } from "../../../src/modules/translate/cache";
import { canonicalLanguage, deeplSource, deeplTarget, googleCode } from "../../../src/modules/translate/languages";
import { codePoints, countedCharacters } from "../../../src/modules/translate/text";

describe("counting translated characters", () => {
  it("counts code points, not UTF-16 units", () => {
    expect(codePoints("héllo")).toBe(5);
    expect(codePoints("👋🏽 hi")).toBe(5);
    expect("👋🏽 hi".length).toBe(7);
  });

  it("counts only the text nodes of HTML, an entity as one character", () => {
    expect(countedCharacters('<p class="x">Hi <b>you</b> &amp; me<!-- no --></p>', "html")).toBe("Hi you & me".length);
    expect(countedCharacters("<style>p{color:red}</style><script>let a = 1 < 2;</script>Ok", "html")).toBe(2);
    expect(countedCharacters("<b>a</b>", "text")).toBe(8);
  });
});

describe("language tags", () => {
  it("accepts BCP 47 tags in canonical case and refuses the rest", () => {
    expect(canonicalLanguage("EN-gb")).toBe("en-GB");
    expect(canonicalLanguage("zh-hant-tw")).toBe("zh-Hant-TW");
    for (const bad of ["", "not a tag", "und", "x-private", "en_US", "e"]) expect(canonicalLanguage(bad)).toBeNull();
  });

  it("speaks each provider's dialect", () => {
    expect(googleCode("de-AT")).toBe("de");
    expect(googleCode("zh-Hant")).toBe("zh-TW");
    expect(googleCode("zh")).toBe("zh-CN");
    expect(deeplTarget("en")).toBe("EN-US");
    expect(deeplTarget("en-GB")).toBe("EN-GB");
    expect(deeplTarget("pt")).toBe("PT-BR");
    expect(deeplTarget("pt-PT")).toBe("PT-PT");
    expect(deeplSource("en-GB")).toBe("EN");
    expect(deeplTarget("zh-TW")).toBe("ZH-HANT");
    expect(deeplTarget("zh")).toBe("ZH-HANS");
    expect(googleCode("pt-PT")).toBe("pt-PT");
    expect(googleCode("pt")).toBe("pt");
    expect(googleCode("fr-CA")).toBe("fr-CA");
  });
});

describe("the translation cache's writes", () => {
  it("drops the writes KV refuses (one write a second per key) and keeps the rest", async () => {
    const stored: string[] = [];
    const kv = {
      async put(key: string) {
        if (stored.includes(key)) throw new Error("KV PUT failed: 429 Too Many Requests");
        stored.push(key);
      },
    } as unknown as KVNamespace;
    const entry = (text: string): [string, Cached] => [
      `["","de","text","","${text}"]`,
      { text: `[de] ${text}`, provider: "google" },
    ];
    expect(await writeCache(kv, [entry("a"), entry("b")], "usr_1", 60)).toEqual({ written: 2, dropped: 0 });
    expect(await writeCache(kv, [entry("a"), entry("c")], "usr_1", 60)).toEqual({ written: 1, dropped: 1 });
  });
});

describe("counting hostile HTML", () => {
  // Ten times the request limit: a quadratic scan of these takes minutes and times the test out.
  it("takes linear time over unclosed tags, comments and entities", () => {
    expect(countedCharacters("<".repeat(300_000), "html")).toBe(300_000);
    expect(countedCharacters("<!--".repeat(75_000), "html")).toBe(0);
    expect(countedCharacters("<a".repeat(150_000), "html")).toBe(300_000);
    expect(countedCharacters(`x<b>${"<i>".repeat(100_000)}`, "html")).toBe(1);
    expect(countedCharacters(`${"&a".repeat(100_000)};`, "html")).toBe(199_999);
  });
});
