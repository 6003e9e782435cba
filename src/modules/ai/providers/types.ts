/**
 * The capabilities provider adapters implement (chat; embeddings). Adapters translate between this one
 * normalized request and their provider's API, and emit typed parts; the OpenAI wire format,
 * SSE framing, retries, fallbacks and credit metering happen once, in the module.
 */

export type ChatContentPart =
  | { type: "text"; text: string }
  /** A remote `https:` URL (passed to providers that fetch it themselves) or a `data:` URL. */
  | { type: "image_url"; url: string; detail?: "auto" | "low" | "high" };

type ChatToolCall = { id: string; name: string; arguments: string };

export type ChatMessage =
  | { role: "system" | "developer"; content: string }
  | { role: "user"; content: string | ChatContentPart[] }
  | { role: "assistant"; content: string | null; toolCalls?: ChatToolCall[] }
  | { role: "tool"; toolCallId: string; content: string };

export type ChatTool = { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };

export type ChatRequest = {
  /** The provider's own model name. */
  model: string;
  messages: ChatMessage[];
  /** Already bounded by what the caller's credit hold covers. */
  maxTokens: number;
  n: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  tools?: ChatTool[];
  toolChoice?: "auto" | "none" | "required" | { name: string };
  responseFormat?:
    | { type: "text" }
    | { type: "json_object" }
    | { type: "json_schema"; name: string; schema: Record<string, unknown>; strict?: boolean };
};

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** What an adapter emits while the answer arrives; `choice` is the index among `n` answers. */
export type ChatPart =
  | { type: "text"; choice: number; text: string }
  /** A tool call's fragment: the first of a call carries `id` and `name`; `arguments` accumulate. */
  | { type: "tool_call"; choice: number; call: number; id?: string; name?: string; arguments: string }
  | { type: "finish"; choice: number; reason: FinishReason }
  /** The provider's own token counts, once, at the end. */
  | { type: "usage"; inputTokens: number; outputTokens: number }
  /** The provider sent counts that are not believable (negative, fractional, absurd, not numbers). */
  | { type: "usage_rejected" }
  /**
   * Checked chunks of OpenAI's stream format as the provider sent them (their JSON text), ahead
   * of the parts read from them, one part per read from the network: relayed to a streaming
   * client in one write, instead of the parts rebuilt.
   */
  | { type: "relay"; chunks: string[] };

export type ChatProvider = {
  /** Its streams come with `relay` parts (OpenAI's format): a streamed answer writes those, never its parts. */
  relays?: boolean;
  /**
   * Streams the answer's parts; aborting `signal` must abort the upstream request at once.
   * `connected` is called once the upstream has answered with its status and headers.
   */
  chat(request: ChatRequest, signal: AbortSignal, connected?: () => void): AsyncIterable<ChatPart>;
};

export type EmbeddingsRequest = { model: string; input: string[]; dimensions?: number };
/** `inputTokens` is null when the provider's count was missing or not believable. */
type EmbeddingsResult = { vectors: number[][]; inputTokens: number | null };

export type EmbeddingsProvider = {
  embed(request: EmbeddingsRequest, signal: AbortSignal): Promise<EmbeddingsResult>;
};

export type TranscriptionRequest = {
  model: string;
  file: File;
  language?: string;
  prompt?: string;
  temperature?: number;
};
type TranscriptSegment = { start: number; end: number; text: string };
/**
 * Always with timings: the module renders every response format from it, and bills the
 * duration, which is null when the provider's was missing or not believable.
 */
export type Transcript = {
  text: string;
  language: string;
  durationSeconds: number | null;
  segments: TranscriptSegment[];
};

export type TranscriptionProvider = {
  transcribe(request: TranscriptionRequest, signal: AbortSignal): Promise<Transcript>;
};

export const SPEECH_FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"] as const;
export type SpeechRequest = {
  model: string;
  input: string;
  voice: string;
  format: (typeof SPEECH_FORMATS)[number];
  speed?: number;
};

export type SpeechProvider = {
  /** The audio as it is produced, with its content type. */
  speak(
    request: SpeechRequest,
    signal: AbortSignal,
  ): Promise<{ audio: ReadableStream<Uint8Array>; contentType: string }>;
};

export const IMAGE_SIZES = ["1024x1024", "1792x1024", "1024x1792"] as const;
type ImageRequest = {
  model: string;
  prompt: string;
  n: number;
  size: (typeof IMAGE_SIZES)[number];
  quality: "standard" | "hd";
  format: "url" | "b64_json";
};
/** An image at the provider's own URL (it serves it) or inline. */
type GeneratedImage = { url?: string; b64Json?: string; revisedPrompt?: string };

export type ImagesProvider = {
  generate(request: ImageRequest, signal: AbortSignal): Promise<GeneratedImage[]>;
};

/**
 * Upstream error codes that say what was wrong with the client's own request: they are passed
 * on (with our wording, never the upstream's), every other upstream detail stays in the logs.
 */
export const PASSED_ON_CODES = ["context_length_exceeded", "content_filter", "invalid_image"] as const;
export type PassedOnCode = (typeof PASSED_ON_CODES)[number];
