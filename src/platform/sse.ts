import { z } from "@hono/zod-openapi";

/**
 * Server-Sent Events, one way for every route that streams (AI tokens now, job progress
 * next): the response with its headers, and its entry in a route contract.
 */

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
};

/** A 200 streaming `stream`'s events as they come. */
export const sseResponse = (stream: ReadableStream<Uint8Array>): Response =>
  new Response(stream, { status: 200, headers: SSE_HEADERS });

/** The `text/event-stream` content of a route contract's response, described. */
export const eventStreamContent = (description: string) => ({
  "text/event-stream": { schema: z.string().openapi({ description }) },
});
