import { describe, expect, it } from "vitest";
import { withTopLevelStrings } from "../../../../src/modules/ai/chat/top-level";

const values = { id: "chatcmpl-ours", model: "gpt-4o-mini" };

describe("withTopLevelStrings", () => {
  it("replaces the top-level members only, every other byte as it was", () => {
    const chunk =
      '{"id":"chatcmpl-theirs","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18",' +
      '"system_fingerprint":"fp_x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1",' +
      '"function":{"name":"model","arguments":"{\\"id\\":\\"x\\"}"}}]},"finish_reason":null}]}';
    const replaced = withTopLevelStrings(chunk, values);
    expect(replaced).toBe(
      chunk.replace('"id":"chatcmpl-theirs"', '"id":"chatcmpl-ours"').replace("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    );
    expect(JSON.parse(replaced ?? "")).toEqual({ ...JSON.parse(chunk), ...values });
  });

  it("keeps whitespace and skips strings holding quotes, braces and escaped backslashes", () => {
    const chunk = '{ "choices" : [ { "delta" : { "content" : "a \\"}\\" ,\\\\" } } ] , "model" : "m" , "id" : "i" }';
    expect(withTopLevelStrings(chunk, values)).toBe(
      '{ "choices" : [ { "delta" : { "content" : "a \\"}\\" ,\\\\" } } ] , "model" : "gpt-4o-mini" , "id" : "chatcmpl-ours" }',
    );
  });

  it("answers null when a member is missing, nested only, or not a string, or the text is no object", () => {
    expect(withTopLevelStrings('{"id":"a"}', values)).toBeNull();
    expect(withTopLevelStrings('{"x":{"id":"a","model":"b"}}', values)).toBeNull();
    expect(withTopLevelStrings('{"id":1,"model":"b"}', values)).toBeNull();
    expect(withTopLevelStrings('["id","model"]', values)).toBeNull();
    expect(withTopLevelStrings('{"id":"a","model":"b', values)).toBeNull();
    // Names that JSON.parse would read as a named member, or twice.
    expect(withTopLevelStrings('{"id":"a","model":"b","mod\\u0065l":"secret"}', values)).toBeNull();
    expect(withTopLevelStrings('{"model":"b","id":"a","id":"c"}', values)).toBeNull();
  });

  it("writes values that need escaping as JSON", () => {
    expect(JSON.parse(withTopLevelStrings('{"id":"a","model":"b"}', { id: 'q"\n', model: "é" }) ?? "")).toEqual({
      id: 'q"\n',
      model: "é",
    });
  });
});
