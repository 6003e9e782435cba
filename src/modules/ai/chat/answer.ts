import type { ChatPart, FinishReason } from "../providers/types";

/**
 * An answer as it accumulates from an adapter's parts: per choice its text, tool calls and
 * finish reason, and the provider's token counts if it sent believable ones. Both the
 * non-streamed completion and the metering of a stream (what the client received) read it.
 * Adapters check choice and tool call indexes against their bounds; the arrays here grow only
 * to those bounds.
 */

type ToolCallState = { id: string; name: string; arguments: string };
type ChoiceState = { text: string; toolCalls: ToolCallState[]; finish: FinishReason | null };

export class Answer {
  readonly choices: ChoiceState[] = [];
  usage: { inputTokens: number; outputTokens: number } | null = null;
  /** Once the provider sent unbelievable counts, none of its counts are used for this answer. */
  private usageRejected = false;

  add(part: ChatPart): void {
    if (part.type === "relay") return;
    if (part.type === "usage") {
      if (!this.usageRejected) this.usage = { inputTokens: part.inputTokens, outputTokens: part.outputTokens };
      return;
    }
    if (part.type === "usage_rejected") {
      // The module charges its own estimate instead.
      this.usageRejected = true;
      this.usage = null;
      return;
    }
    const choice = this.choice(part.choice);
    if (part.type === "text") choice.text += part.text;
    else if (part.type === "finish") choice.finish = part.reason;
    else {
      const call = choice.toolCalls[part.call] ?? { id: "", name: "", arguments: "" };
      choice.toolCalls[part.call] = call;
      if (part.id) call.id = part.id;
      if (part.name) call.name = part.name;
      call.arguments += part.arguments;
    }
  }

  private choice(index: number): ChoiceState {
    while (this.choices.length <= index) this.choices.push({ text: "", toolCalls: [], finish: null });
    return this.choices[index] as ChoiceState;
  }

  /** Output tokens by count when the provider did not say (a stream cut short): 4 characters a token. */
  countedOutputTokens(): number {
    let characters = 0;
    for (const choice of this.choices) {
      characters += choice.text.length;
      for (const call of choice.toolCalls) characters += call.name.length + call.arguments.length;
    }
    return Math.ceil(characters / 4);
  }
}
